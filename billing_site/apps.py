from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender, **kwargs):
    if kwargs.get("using", "default") != "default" or sender.name != _last_app_with_models():
        return
    # Later stages add models after the roles migration ran: give their permissions to the groups.
    from billing_site.roles import roles_sync_permissions

    roles_sync_permissions()


class BillingSiteConfig(AppConfig):
    name = "billing_site"
    verbose_name = _("Recur kernel")

    def ready(self):
        from billing_site.celery import ensure_broker_dirs

        ensure_broker_dirs()
        from billing_site.forms import localize_number_fields

        localize_number_fields()
        _api_decimals()
        post_migrate.connect(_sync_roles, dispatch_uid="recur_sync_roles")


def _last_app_with_models() -> str:
    from django.apps import apps

    return [c.name for c in apps.get_app_configs() if c.models_module is not None][-1]


def _api_decimals() -> None:
    """Every ModelSerializer renders model DecimalFields through the kernel's one field (billing_site.api_fields)."""
    from django.db import models
    from rest_framework.serializers import ModelSerializer

    from billing_site.api_fields import DecimalValueField

    ModelSerializer.serializer_field_mapping[models.DecimalField] = DecimalValueField
