from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountingConfig(AppConfig):
    name = "accounting"
    verbose_name = _("Accounting")

    def ready(self):
        from accounting.selectors import account_panel, account_timeline_figures
        from accounting.tasks import on_event_committed
        from billing_site.events import event_committed
        from billing_site.extensions import register_account_panel, register_timeline_figures

        # Posting invoices and credit notes, recording payments and refunds announce themselves in
        # the kernel's outbox; the books journal them within seconds (accounting/tasks.py).
        event_committed.connect(on_event_committed, dispatch_uid="accounting_on_event_committed")
        # Revenue to date on the account page and the account timeline (earlier stages cannot import us).
        register_account_panel(account_panel)
        register_timeline_figures(account_timeline_figures)
