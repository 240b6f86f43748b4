from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountingConfig(AppConfig):
    name = "accounting"
    verbose_name = _("Accounting")

    def ready(self):
        from accounting.tasks import on_event_committed
        from billing_site.events import event_committed

        # Posting invoices and credit notes, recording payments and refunds announce themselves in
        # the kernel's outbox; the books journal them within seconds (accounting/tasks.py).
        event_committed.connect(on_event_committed, dispatch_uid="accounting_on_event_committed")
