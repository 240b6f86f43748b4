"""Receivables reports: AR aging, DSO trend, billed vs collected, the account statement.

Past balances are rebuilt from dated rows: an invoice counts from its invoice date; an allocation
from its `allocated_date`; invoicing's own credit allocations from the day they were created.
DSO of a month = AR at month end ÷ invoiced in the 90 days up to it × 90 (one decimal).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from billing_site.money import ZERO, round_money, sum_money
from invoicing.models import CreditNote, Invoice
from payments.models import Allocation, Payment, Refund
from payments.selectors.credit import BUCKETS, DSO_WINDOW_DAYS, _bucket


def aging_report(*, today: dt.date, currency: str) -> dict:
    """Open balances of posted invoices per account and bucket of days past due, with totals."""
    rows = (
        Invoice.objects.filter(status=Invoice.Status.POSTED, currency=currency)
        .filter(open_amount__gt=0)
        .values_list("account_id", "account__name", "account__number", "account__credit_hold", "due_date", "open_amount")
    )
    accounts: dict[int, dict] = {}
    for account_id, name, number, hold, due, amount in rows:
        entry = accounts.setdefault(account_id, {"account_id": account_id, "name": name, "number": number, "credit_hold": hold,
                                                 "buckets": {b: [] for b in BUCKETS}, "oldest_due": due})
        entry["buckets"][_bucket((today - due).days)].append(round_money(amount, currency))
        entry["oldest_due"] = min(entry["oldest_due"], due)
    out = []
    for entry in accounts.values():
        entry["buckets"] = {b: sum_money(v, currency) for b, v in entry["buckets"].items()}
        entry["total"] = sum_money(entry["buckets"].values(), currency)
        entry["overdue"] = entry["total"] - entry["buckets"]["current"]
        out.append(entry)
    out.sort(key=lambda e: (-e["overdue"], -e["total"], e["name"]))
    totals = {b: sum_money((e["buckets"][b] for e in out), currency) for b in BUCKETS}
    return {"rows": out, "totals": totals, "total": sum_money(totals.values(), currency), "currency": currency, "today": today}


def month_ends(today: dt.date, months: int) -> list[dt.date]:
    """The last `months` month ends, the current month's being today."""
    out, year, month = [today], today.year, today.month
    for _ in range(months - 1):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(dt.date(year, month, calendar.monthrange(year, month)[1]))
    return list(reversed(out))


def _ar_history(currency: str):
    invoices = list(Invoice.objects.filter(status=Invoice.Status.POSTED, currency=currency)
                    .values_list("pk", "invoice_date", "total_amount"))
    applied = list(Allocation.objects.filter(currency=currency).values_list("allocated_date", "amount"))
    return invoices, applied


def ar_at(day: dt.date, invoices, applied) -> Decimal:
    billed = sum((total for _pk, d, total in invoices if d <= day), ZERO)
    paid = sum((amount for d, amount in applied if d <= day), ZERO)
    return billed - paid


def dso_trend(*, today: dt.date, currency: str, months: int = 12) -> list[dict]:
    invoices, applied = _ar_history(currency)
    out = []
    for end in month_ends(today, months):
        ar = round_money(ar_at(end, invoices, applied), currency)
        start = end - dt.timedelta(days=DSO_WINDOW_DAYS)
        sales = round_money(sum((t for _pk, d, t in invoices if start < d <= end), ZERO), currency)
        dso = None
        if sales > 0:
            from catalog.pricing import fraction_to_decimal

            dso = fraction_to_decimal(Fraction(ar) / Fraction(sales) * DSO_WINDOW_DAYS, 1)
        out.append({"month": end.replace(day=1), "end": end, "ar": ar, "sales_90": sales, "dso": dso})
    return out


def billed_vs_collected(*, today: dt.date, currency: str, months: int = 12) -> list[dict]:
    """Per month: invoiced, credited, cash collected (payments received) and refunded."""
    ends = month_ends(today, months)
    first = ends[0].replace(day=1)

    def per_month(qs, date_field, amount_field="total_amount"):
        rows = qs.filter(**{f"{date_field}__gte": first, f"{date_field}__lte": today}).annotate(
            m=TruncMonth(date_field)).values("m").annotate(s=Sum(amount_field)).order_by()
        return {(r["m"].date() if isinstance(r["m"], dt.datetime) else r["m"]): round_money(r["s"], currency) for r in rows}

    billed = per_month(Invoice.objects.filter(status=Invoice.Status.POSTED, currency=currency), "invoice_date")
    credited = per_month(CreditNote.objects.filter(status=CreditNote.Status.POSTED, currency=currency), "credit_date")
    collected = per_month(Payment.objects.filter(currency=currency), "received_date", "amount")
    refunded = per_month(Refund.objects.filter(currency=currency), "refund_date", "amount")
    zero = round_money(ZERO, currency)
    out = []
    for end in ends:
        m = end.replace(day=1)
        out.append({"month": m, "billed": billed.get(m, zero), "credited": credited.get(m, zero),
                    "collected": collected.get(m, zero), "refunded": refunded.get(m, zero),
                    "net_collected": collected.get(m, zero) - refunded.get(m, zero)})
    return out


def statement_default_period(*, today: dt.date) -> tuple[dt.date, dt.date]:
    """The period a statement covers when none is asked: from the first of the month a year back, to today."""
    return today.replace(day=1) - dt.timedelta(days=365), today


def account_statement(*, account, start: dt.date, end: dt.date, currency: str) -> dict:
    """The account's documents and cash between two dates, with the opening and running balance.

    Balance = invoices − credit notes − payments + refunds: what the account owes, net of the money
    and credits it has with us (a negative balance is in the customer's favour)."""
    events = []
    for inv in Invoice.objects.filter(account=account, status=Invoice.Status.POSTED, currency=currency):
        events.append((inv.invoice_date, 0, inv.pk, "invoice", inv.number, inv.due_date, inv.total_amount))
    for note in CreditNote.objects.filter(account=account, status=CreditNote.Status.POSTED, currency=currency):
        events.append((note.credit_date, 1, note.pk, "credit_note", note.number, None, -note.total_amount))
    for p in Payment.objects.filter(account=account, currency=currency):
        events.append((p.received_date, 2, p.pk, "payment", p.reference or str(p), None, -p.amount))
    for r in Refund.objects.filter(account=account, currency=currency):
        events.append((r.refund_date, 3, r.pk, "refund", r.reason or str(r), None, r.amount))
    events.sort()
    opening = round_money(sum((e[6] for e in events if e[0] < start), ZERO), currency)
    running, lines = opening, []
    for day, _order, _pk, kind, label, due, amount in events:
        if start <= day <= end:
            running = round_money(running + amount, currency)
            lines.append({"date": day, "kind": kind, "label": label, "due_date": due,
                          "debit": amount if amount > 0 else None, "credit": -amount if amount < 0 else None,
                          "balance": running})
    by_kind = defaultdict(lambda: ZERO)
    for line in lines:
        by_kind[line["kind"]] += line["debit"] or -line["credit"]
    return {"account": account, "start": start, "end": end, "currency": currency, "opening": opening,
            "lines": lines, "closing": running}
