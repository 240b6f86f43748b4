"""Kernel reads: the dashboard (cards contributed by each stage) and the audit log."""

from importlib import import_module
from importlib.util import find_spec

from django.core.paginator import Paginator

from billing_site.models import AuditLog

STAGE_APPS = ["customers", "catalog", "quotes", "contracts", "invoicing", "payments", "accounting"]


def dashboard(*, user, roles) -> dict:
    """Each stage may offer `selectors.dashboard_cards(user=, roles=)` → list of card dicts
    (title, value, url, tone, hint); the home page shows them in flow order."""
    cards = []
    for app in STAGE_APPS:
        if not find_spec(f"{app}.selectors"):
            continue
        module = import_module(f"{app}.selectors")
        if hasattr(module, "dashboard_cards"):
            cards.extend(module.dashboard_cards(user=user, roles=roles))
    recent = AuditLog.objects.select_related("actor")[:10]
    return {"cards": cards, "recent_activity": recent}


def audit_page(page_number, *, object_type: str = ""):
    qs = AuditLog.objects.select_related("actor")
    if object_type:
        qs = qs.filter(object_type=object_type)
    return Paginator(qs, 50).get_page(page_number)
