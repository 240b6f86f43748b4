from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        from billing_site.events import event_committed
        from webhooks.tasks import on_event_committed

        event_committed.connect(on_event_committed, dispatch_uid="webhooks_on_event_committed")
