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


SEARCH_MIN_LENGTH = 2
SEARCH_MAX_LENGTH = 100
SEARCH_LIMIT = 20


def global_search(*, query: str, user, roles) -> list[dict]:
    """Each stage may offer `selectors.global_search(query=, roles=, limit=)` → groups of results
    (`kind`, `label`, `results`: title, detail, url; `more`), only of kinds the roles may open."""
    query = (query or "").strip()[:SEARCH_MAX_LENGTH]
    if len(query) < SEARCH_MIN_LENGTH:
        return []
    groups: list[dict] = []
    for app in STAGE_APPS:
        if not find_spec(f"{app}.selectors"):
            continue
        module = import_module(f"{app}.selectors")
        if hasattr(module, "global_search"):
            groups.extend(g for g in module.global_search(query=query, roles=roles, limit=SEARCH_LIMIT) if g["results"])
    return groups


def search_group(*, kind: str, label, rows, limit: int, row) -> dict:
    """A group of at most `limit` results from `rows` (a queryset), each made by `row(obj)`."""
    found = list(rows[: limit + 1])
    return {"kind": kind, "label": str(label), "results": [row(obj) for obj in found[:limit]], "more": len(found) > limit}
