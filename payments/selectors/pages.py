"""Reads for the payments pages: lists with their filters, the account tab, dashboard cards."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from billing_site.money import format_money, round_money
from billing_site.roles import FINANCE_ADMIN
from invoicing.models import Invoice
from payments.models import Payment, PaymentAttempt, PaymentMethod, Refund, StatementLine
from payments.selectors.balances import open_credit_notes, open_invoices
from payments.selectors.credit import unapplied_by_currency

PAYMENT_SORTS = {
    "date": "received_date", "amount": "amount", "account": "account__name", "unapplied": "unapplied_amount",
    "method": "method", "id": "id",
}


def payment_list(*, params, sort: str = "-date"):
    """Payments matching the list's filters, sorted: the same rows for the page, the CSV and the API."""
    from payments.filters import PaymentFilter

    qs = Payment.objects.select_related("account")
    filterset = PaymentFilter(params, queryset=qs)
    field = PAYMENT_SORTS.get(sort.lstrip("-"), "received_date")
    return filterset, filterset.qs.order_by(f"-{field}" if sort.startswith("-") else field, "-id")


def payment_detail(*, payment: Payment) -> dict:
    """A payment's allocation history, its net per invoice, refunds, and the invoices it may still pay."""
    allocations = list(payment.allocations.select_related("invoice", "invoice_line").order_by("id"))
    net: dict[int, dict] = {}
    for row in allocations:
        entry = net.setdefault(row.invoice_id, {"invoice": row.invoice, "amount": 0})
        entry["amount"] += row.amount
    applied = [
        {**e, "amount": round_money(e["amount"], payment.currency)} for e in net.values()
        if round_money(e["amount"], payment.currency) != 0
    ]
    return {
        "allocations": allocations, "applied": applied, "refunds": list(payment.refunds.order_by("id")),
        "open_invoices": list(open_invoices(account=payment.account, currency=payment.currency)[:50]),
    }


def account_tab(*, account, user) -> dict:
    """The account page's Payments tab: payments, open invoices, credits, methods."""
    return {
        "payments_recent": list(Payment.objects.filter(account=account).order_by("-received_date", "-id")[:20]),
        "payments_open_invoices": list(open_invoices(account=account)),
        "payments_open_credits": list(open_credit_notes(account=account)),
        "payments_methods": list(PaymentMethod.objects.filter(account=account, active=True)),
        "payments_refunds": list(Refund.objects.filter(account=account).order_by("-id")[:10]),
        "payments_unapplied": unapplied_by_currency(account=account),
    }


def overdue_totals(*, today: dt.date) -> dict[str, object]:
    rows = (
        Invoice.objects.filter(status=Invoice.Status.POSTED, due_date__lt=today)
        .filter(open_amount__gt=0).values("currency").annotate(s=Sum("open_amount"), n=Count("id")).order_by("currency")
    )
    return {r["currency"]: (round_money(r["s"], r["currency"]), r["n"]) for r in rows}


def dashboard_cards(*, user, roles) -> list[dict]:
    from billing_site import clock

    if not (set(roles) & FINANCE_ADMIN):
        return []
    today = clock.today()
    overdue = overdue_totals(today=today)
    value = " · ".join(format_money(amount, cur) for cur, (amount, _n) in overdue.items()) or format_money(0, "EUR")
    count = sum(n for _a, n in overdue.values())
    review = StatementLine.objects.filter(status__in=StatementLine.REVIEW).count()
    failed = PaymentAttempt.objects.filter(
        Q(status=PaymentAttempt.Status.DECLINED_FINAL) | Q(status=PaymentAttempt.Status.DECLINED_TRANSIENT),
        attempted_on__gt=today - dt.timedelta(days=30),
    ).count()
    return [
        {"title": _("Overdue receivables"), "value": value, "url": reverse("payments:reports"),
         "tone": "bad" if count else "ok", "hint": _("%(n)s overdue invoices") % {"n": count}},
        {"title": _("Bank lines to review"), "value": review, "url": reverse("payments:bank-review"),
         "tone": "warn" if review else "ok"},
        {"title": _("Failed charges (30 days)"), "value": failed, "url": reverse("payments:runs"),
         "tone": "warn" if failed else "ok"},
    ]


def global_search(*, query: str, roles, limit: int) -> list[dict]:
    """Payments by number ("207", "Payment 207") or bank reference (every role reads payments)."""
    from billing_site.selectors import search_group

    digits = query.lower().removeprefix(_("Payment").lower()).strip().lstrip("#")
    match = Q(reference__icontains=query)
    if digits.isdigit() and len(digits) < 12:
        match |= Q(pk=int(digits))
    rows = Payment.objects.filter(match).select_related("account").order_by("-received_date", "-id")
    return [search_group(kind="payments", label=_("Payments"), rows=rows, limit=limit, row=lambda p: {
        "title": str(p), "detail": f"{p.account.name} · {format_money(p.amount, p.currency)} · {p.reference or '—'}",
        "url": reverse("payments:detail", args=[p.pk]),
    })]
