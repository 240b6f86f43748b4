"""The account timeline (customer 360): every stage's events for one account on one time axis.

It lives in `payments/`, the last stage, because it reads every earlier one (quotes, orders,
deliveries, contracts, invoices, credit notes, payments, refunds, dunning, credit holds); no stage
imports it. Reads only. `timeline_figures` and `timeline_axis` are pure functions on plain rows.

Figures, in the account's currency, over the account's whole life (the filters only narrow the list):
- bought: the value of every activated order's lines (new business, amendments, renewals);
- delivered: lines that need delivery, delivered (and how many late) out of all of them;
- billed: posted invoices minus posted credit notes; paid: payments received minus refunds;
- open and overdue: the credit picture's open balance and overdue amount (`credit_summary`);
- lifetime value: what the customer has paid, net of refunds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing_site.money import sum_money

ZERO = Decimal("0")
KINDS = {
    "quote": gettext_lazy("Quotes"),
    "order": gettext_lazy("Orders"),
    "delivery": gettext_lazy("Deliveries"),
    "contract": gettext_lazy("Contracts"),
    "amendment": gettext_lazy("Amendments"),
    "invoice": gettext_lazy("Invoices"),
    "credit_note": gettext_lazy("Credit notes"),
    "payment": gettext_lazy("Payments"),
    "refund": gettext_lazy("Refunds"),
    "dunning": gettext_lazy("Dunning"),
    "credit_hold": gettext_lazy("Credit holds"),
}
MAX_EVENTS = 5000


@dataclass(frozen=True)
class Event:
    day: dt.date
    kind: str
    reference: str
    label: str
    amount: Decimal | None = None
    currency: str = ""
    status: str = ""  # e.g. late / on_time for deliveries, the document's status otherwise
    url: str = ""


def _url(name, *args) -> str:
    try:
        return reverse(name, args=args)
    except Exception:  # an app's page may not exist in every installation
        return ""


def timeline_events(*, account, today: dt.date) -> list[Event]:
    """Every event of the account, oldest first (bounded by MAX_EVENTS per kind)."""
    from billing_site.models import AuditLog
    from contracts.models import Contract, Order, OrderProduct
    from invoicing.models import CreditNote, Invoice
    from payments.models import DunningEvent, Payment, Refund
    from quotes.models import Quote

    events: list[Event] = []
    for q in Quote.objects.filter(account=account).order_by("id")[:MAX_EVENTS]:
        events.append(Event(q.created_at.date(), "quote", q.number, _("Quote %(number)s") % {"number": q.number},
                            q.total_contract_value, q.currency, q.status, _url("quotes:detail", q.pk)))
    orders = Order.objects.filter(account=account).exclude(type=Order.Type.AMENDMENT).order_by("id")[:MAX_EVENTS]
    for o in orders:
        events.append(Event(o.created_at.date(), "order", o.number, _("Order %(number)s") % {"number": o.number},
                            None, o.currency, o.status, _url("contracts:order-detail", o.pk)))
    amendments = Order.objects.filter(account=account, type=Order.Type.AMENDMENT).order_by("id")[:MAX_EVENTS]
    for o in amendments:
        events.append(Event(o.effective_date or o.start_date, "amendment", o.number,
                            f"{o.contract.number if o.contract_id else o.number}: {o.get_amendment_type_display()}",
                            None, o.currency, o.status, _url("contracts:order-detail", o.pk)))
    deliveries = OrderProduct.objects.filter(
        order__account=account, product__needs_delivery=True, order__status=Order.Status.ACTIVATED,
    ).select_related("order", "product").order_by("id")[:MAX_EVENTS]
    for op in deliveries:
        if op.delivered_date is not None:
            status = "late" if op.delivered_late else "on_time"
            day = op.delivered_date
        else:
            status = "late" if op.delivery_due_date and op.delivery_due_date < today else "due"
            day = op.delivery_due_date or op.start_date
        events.append(Event(day, "delivery", op.order.number, f"{op.product.name} × {op.quantity.normalize():f}",
                            op.total_amount, op.order.currency, status, _url("contracts:order-detail", op.order_id)))
    for c in Contract.objects.filter(account=account).order_by("id")[:MAX_EVENTS]:
        events.append(Event(c.start_date, "contract", c.number, _("Contract %(number)s") % {"number": c.number},
                            None, c.currency, c.status, _url("contracts:detail", c.pk)))
    posted = Invoice.objects.filter(account=account).exclude(status=Invoice.Status.DRAFT).order_by("id")[:MAX_EVENTS]
    for i in posted:
        events.append(Event(i.invoice_date, "invoice", i.number or "", _("Invoice %(number)s") % {"number": i.number},
                            i.total_amount, i.currency, i.status, _url("invoicing:detail", i.pk)))
    notes = CreditNote.objects.filter(account=account, status=CreditNote.Status.POSTED).order_by("id")[:MAX_EVENTS]
    for n in notes:
        events.append(Event(n.credit_date, "credit_note", n.number or "", _("Credit note %(number)s") % {"number": n.number},
                            -n.total_amount, n.currency, n.kind, _url("payments:credit-note", n.pk)))
    for p in Payment.objects.filter(account=account).order_by("id")[:MAX_EVENTS]:
        events.append(Event(p.received_date, "payment", p.reference or str(p.pk), _("Payment (%(method)s)") % {
            "method": p.get_method_display()}, p.amount, p.currency, p.method, _url("payments:detail", p.pk)))
    for r in Refund.objects.filter(account=account).order_by("id")[:MAX_EVENTS]:
        events.append(Event(r.refund_date, "refund", str(r.pk), r.reason or _("Refund"), -r.amount, r.currency, r.status))
    dunning = DunningEvent.objects.filter(account=account).select_related("step", "invoice").order_by("id")[:MAX_EVENTS]
    for d in dunning:
        events.append(Event(d.run_date, "dunning", d.invoice.number or "", f"{d.step.name} · {d.invoice.number}",
                            d.balance_amount, d.invoice.currency, d.status, _url("payments:invoice", d.invoice_id)))
    holds = AuditLog.objects.filter(object_type="customers.account", object_id=str(account.pk),
                                    action="credit_hold_changed").order_by("id")[:MAX_EVENTS]
    for h in holds:
        on = h.to_state == "true"
        events.append(Event(h.at.date(), "credit_hold", "", (_("Credit hold on") if on else _("Credit hold released"))
                            + (f" · {h.message}" if h.message else ""), None, "", "on" if on else "off"))
    events.sort(key=lambda e: (e.day, list(KINDS).index(e.kind), e.reference))
    return events


def timeline_filter(events: list[Event], *, kinds=None, start: dt.date | None = None, end: dt.date | None = None) -> list[Event]:
    """Events of the chosen kinds between `start` and `end` (both included)."""
    return [e for e in events if (not kinds or e.kind in kinds) and (start is None or e.day >= start)
            and (end is None or e.day <= end)]


def timeline_figures(*, bought_lines, delivery_rows, invoices, credit_notes, payments, refunds, open_amount, overdue_amount,
                     currency: str) -> dict:
    """The account's figures from plain rows (amounts in the account's currency)."""
    delivered = [d for d in delivery_rows if d[0] is not None]
    late = [d for d in delivered if d[1] is not None and d[0] > d[1]]
    billed = sum_money([*invoices, *(-n for n in credit_notes)], currency)
    paid = sum_money([*payments, *(-r for r in refunds)], currency)
    return {
        "currency": currency,
        "bought": sum_money(bought_lines, currency),
        "delivered_count": len(delivered), "delivery_count": len(delivery_rows), "delivered_late_count": len(late),
        "billed": billed, "paid": paid, "open": open_amount, "overdue": overdue_amount, "lifetime_value": paid,
    }


def account_figures(*, account, today: dt.date) -> dict:
    """The figures of `timeline_figures`, read from the database."""
    from contracts.models import Order, OrderProduct
    from invoicing.models import CreditNote, Invoice
    from payments.models import Payment, Refund
    from payments.selectors.credit import credit_summary

    cur = account.currency
    credit = credit_summary(account=account, today=today)
    return timeline_figures(
        bought_lines=OrderProduct.objects.filter(order__account=account, order__status=Order.Status.ACTIVATED,
                                                 order__currency=cur).values_list("total_amount", flat=True),
        delivery_rows=list(OrderProduct.objects.filter(
            order__account=account, order__status=Order.Status.ACTIVATED, product__needs_delivery=True,
        ).values_list("delivered_date", "delivery_due_date")),
        invoices=Invoice.objects.filter(account=account, currency=cur).exclude(status=Invoice.Status.DRAFT)
        .values_list("total_amount", flat=True),
        credit_notes=CreditNote.objects.filter(account=account, currency=cur, status=CreditNote.Status.POSTED)
        .values_list("total_amount", flat=True),
        payments=Payment.objects.filter(account=account, currency=cur).values_list("amount", flat=True),
        refunds=Refund.objects.filter(account=account, currency=cur).values_list("amount", flat=True),
        open_amount=credit.open_balance, overdue_amount=credit.overdue_amount, currency=cur,
    )


def timeline_axis(events: list[Event], *, width: int = 1000, lane_height: int = 22, left: int = 120) -> dict:
    """Positions for the inline SVG: one lane per kind present, x proportional to the date."""
    if not events:
        return {"width": width, "height": 0, "lanes": [], "dots": [], "ticks": []}
    first, last = events[0].day, events[-1].day
    span = max((last - first).days, 1)
    kinds = [k for k in KINDS if any(e.kind == k for e in events)]
    plot = width - left - 10

    def x(day):
        return left + round((day - first).days * plot / span, 1)

    lanes = [{"kind": k, "label": str(KINDS[k]), "y": 20 + i * lane_height} for i, k in enumerate(kinds)]
    y_of = {lane["kind"]: lane["y"] for lane in lanes}
    dots = [{"x": x(e.day), "y": y_of[e.kind], "kind": e.kind, "status": e.status,
             "title": f"{e.day.isoformat()} · {e.label}"} for e in events]
    ticks, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        day = dt.date(year, month, 1)
        if day >= first:
            ticks.append({"x": x(day), "label": day.strftime("%Y-%m")})
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if len(ticks) > 12:
        step = -(-len(ticks) // 12)
        ticks = ticks[::step]
    return {"width": width, "height": 30 + len(lanes) * lane_height, "lanes": lanes, "dots": dots, "ticks": ticks,
            "axis_y": 10 + len(lanes) * lane_height + 8}
