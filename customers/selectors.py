"""Reads for accounts: the filtered list, the detail, the dashboard cards."""

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from billing_site.roles import Role
from customers.filters import AccountFilter, sort_accounts
from customers.models import Account


def account_list(*, params, sort: str = "name"):
    """Accounts matching the list's filters, sorted; the same rows the page and the CSV show."""
    qs = Account.objects.select_related("sales_owner")
    filterset = AccountFilter(params, queryset=qs)
    return filterset, sort_accounts(filterset.qs, sort)


def dashboard_cards(*, user, roles) -> list[dict]:
    url = reverse("customers:list")
    counts = Account.objects.aggregate(
        active=Count("id", filter=Q(status=Account.Status.ACTIVE)),
        hold=Count("id", filter=Q(credit_hold=True)),
        mine=Count("id", filter=Q(sales_owner=user)),
    )
    cards = [{"title": _("Active accounts"), "value": counts["active"], "url": f"{url}?status=active"}]
    if Role.SALES in roles:
        cards.append({"title": _("My accounts"), "value": counts["mine"], "url": f"{url}?owner={user.pk}"})
    cards.append(
        {
            "title": _("On credit hold"), "value": counts["hold"], "url": f"{url}?credit_hold=true",
            "tone": "bad" if counts["hold"] else "ok",
        }
    )
    return cards


def global_search(*, query: str, roles, limit: int) -> list[dict]:
    """Accounts by number, name or legal name (every role reads accounts)."""
    from billing_site.selectors import search_group

    rows = Account.objects.filter(
        Q(number__iexact=query) | Q(number__icontains=query) | Q(name__icontains=query) | Q(legal_name__icontains=query)
    ).order_by("name")
    return [search_group(kind="accounts", label=_("Accounts"), rows=rows, limit=limit, row=lambda a: {
        "title": f"{a.number} · {a.name}", "detail": a.get_status_display(),
        "url": reverse("customers:detail", args=[a.pk]),
    })]
