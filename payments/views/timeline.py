"""The account timeline page (customer 360): read-only for every role."""

import datetime as dt

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from billing_site import clock
from billing_site.csv_export import csv_response
from billing_site.extensions import timeline_figures
from billing_site.roles import role_required
from customers.models import Account
from payments.selectors.timeline import (
    KINDS,
    account_figures,
    timeline_axis,
    timeline_events,
    timeline_filter,
)
from payments.views._common import READ


def timeline_params(params) -> dict:
    """Kinds and period from the query string; bad dates are ignored (the whole life shows)."""
    kinds = [k for k in params.getlist("kind") if k in KINDS]

    def day(name):
        try:
            return dt.date.fromisoformat(params.get(name, ""))
        except ValueError:
            return None

    return {"kinds": kinds, "start": day("start"), "end": day("end")}


@role_required(READ)
@require_safe
def account_timeline(request, account_pk: int):
    """Quotes, orders, deliveries, contracts, documents, payments, dunning and holds on one axis and in a table."""
    account = get_object_or_404(Account, pk=account_pk)
    today = clock.today()
    params = timeline_params(request.GET)
    events = timeline_filter(timeline_events(account=account, today=today), **params)
    if request.GET.get("format") == "csv":
        header = ["date", "kind", "reference", "label", "amount", "currency", "status"]
        rows = ([e.day.isoformat(), e.kind, e.reference, e.label, "" if e.amount is None else e.amount, e.currency, e.status]
                for e in events)
        return csv_response(f"timeline-{account.number}.csv", header, rows)
    return render(request, "payments/timeline.html", {
        "account": account, "events": events, "figures": account_figures(account=account, today=today),
        # Figures of later stages (revenue to date from the books), registered in their AppConfig.ready().
        "more_figures": timeline_figures(account=account, today=today),
        "axis": timeline_axis(events), "kinds": [(k, label) for k, label in KINDS.items()], "params": params,
        "query": request.GET.urlencode(),
    })
