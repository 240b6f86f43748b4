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

from django.db.models import F, Sum
from django.db.models.functions import TruncMonth

from billing_site.money import ZERO, round_money, sum_money
from invoicing.models import CreditNote, Invoice
from payments.models import Allocation, Payment, Refund
from payments.selectors.credit import BUCKETS, DSO_WINDOW_DAYS


def _bucket_edges(today: dt.date) -> list[tuple[str, dt.date | None, dt.date | None]]:
    """Each aging bucket as due dates [from, to) (the same edges as `credit._bucket`: current is not due
    yet or due today, then 1–30, 31–60, 61–90 and over 90 days past due)."""
    day = dt.timedelta(days=1)
    return [("current", today, None), ("d1_30", today - 30 * day, today), ("d31_60", today - 60 * day, today - 30 * day),
            ("d61_90", today - 90 * day, today - 60 * day), ("d90_plus", None, today - 90 * day)]


def _decimal(value) -> Decimal:
    # SQLite sums decimals as floats: through str, then rounded to the currency by the caller.
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


# Plain SQL (CASE, not FILTER) so SQLite runs it too. Every query reads only open invoices: on PostgreSQL
# the partial covering index `payments_invoice_open_aging` (currency, account) INCLUDE (due date, open
# amount), by an index-only scan; paid invoices, most of a book, are never visited.
OPEN = "FROM invoicing_invoice i WHERE i.status = 'posted' AND i.currency = %s AND i.open_amount > 0"
# The page's accounts, worst first: two sums per account (total, overdue) to rank them, then the buckets of
# the page's accounts only. A window function over every account (for the totals) would buffer them all.
RANK_SQL = """
SELECT i.account_id FROM invoicing_invoice i
WHERE i.status = 'posted' AND i.currency = %s AND i.open_amount > 0
GROUP BY i.account_id
ORDER BY SUM(CASE WHEN i.due_date < %s THEN i.open_amount ELSE 0 END) DESC, SUM(i.open_amount) DESC, i.account_id
{limit}
"""


def _bucket_sums(today: dt.date) -> tuple[str, list]:
    parts, params = [], []
    for k, (_name, start, end) in enumerate(_bucket_edges(today)):
        conds = [c for c, v in (("i.due_date >= %s", start), ("i.due_date < %s", end)) if v is not None]
        parts.append(f"SUM(CASE WHEN {' AND '.join(conds)} THEN i.open_amount ELSE 0 END) AS b{k}")
        params += [v for v in (start, end) if v is not None]
    return ", ".join(parts), params


def _fetch(sql: str, params: list) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _aging_totals(*, today: dt.date, currency: str) -> tuple[dict, int]:
    sums, params = _bucket_sums(today)
    [row] = _fetch(f"SELECT {sums}, COUNT(DISTINCT i.account_id) {OPEN}", [*params, currency])
    return {b: round_money(_decimal(v), currency) for b, v in zip(BUCKETS, row[:5], strict=True)}, row[5]


def _aging_rows(*, today: dt.date, currency: str, limit: int | None, offset: int = 0) -> list[dict]:
    """The accounts' rows, worst first: the page's accounts ranked, then their buckets (all of them with no limit)."""
    sums, params = _bucket_sums(today)
    if limit is not None:
        ids = [r[0] for r in _fetch(RANK_SQL.format(limit="LIMIT %s OFFSET %s"), [currency, today, limit, offset])]
        if not ids:
            return []
        where, extra = f"AND i.account_id IN ({', '.join(['%s'] * len(ids))})", ids
    else:
        where, extra = "", []
    fetched = _fetch(
        f"SELECT i.account_id, a.name, a.number, a.credit_hold, MIN(i.due_date), {sums} "
        "FROM invoicing_invoice i JOIN customers_account a ON a.id = i.account_id "
        f"WHERE i.status = 'posted' AND i.currency = %s AND i.open_amount > 0 {where} "
        "GROUP BY i.account_id, a.name, a.number, a.credit_hold",
        [*params, currency, *extra])
    rows = []
    for account_id, name, number, hold, oldest, *amounts in fetched:
        buckets = {b: round_money(_decimal(v), currency) for b, v in zip(BUCKETS, amounts, strict=True)}
        total = sum_money(buckets.values(), currency)
        if isinstance(oldest, str):  # SQLite returns MIN() of dates as text
            oldest = dt.date.fromisoformat(oldest)
        rows.append({"account_id": account_id, "name": name, "number": number, "credit_hold": bool(hold), "buckets": buckets,
                     "oldest_due": oldest, "total": total, "overdue": total - buckets["current"]})
    # The same order as the ranking (sums rounded to the currency here, so ties keep the account order).
    rows.sort(key=lambda r: (-r["overdue"], -r["total"], r["account_id"]))
    return rows


class AgingRows:
    """The aging rows per account, worst first (overdue, then total, then account), read page by page: a
    sliceable sequence with `count()`, so a Paginator reads only the page it shows."""

    def __init__(self, *, today: dt.date, currency: str, count: int):
        self.today, self.currency, self._count = today, currency, count
        self._pages: dict[tuple[int, int], list] = {}

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        start, stop = index.start or 0, self._count if index.stop is None else min(index.stop, self._count)
        if (start, stop) not in self._pages:
            self._pages[start, stop] = _aging_rows(today=self.today, currency=self.currency, limit=max(0, stop - start), offset=start)
        return self._pages[start, stop]

    def __iter__(self):
        return iter(_aging_rows(today=self.today, currency=self.currency, limit=None))


def aging_report(*, today: dt.date, currency: str) -> dict:
    """Open balances of posted invoices per account and bucket of days past due, with totals.

    Summed in SQL over the open invoices only (their `open_amount` column, kept by the services): one
    query for the book's totals, and `rows` (`AgingRows`) reads the accounts a page at a time, worst first;
    iterating it reads every account (the CSV)."""
    totals, count = _aging_totals(today=today, currency=currency)
    rows = AgingRows(today=today, currency=currency, count=count)
    return {"rows": rows, "totals": totals, "total": sum_money(totals.values(), currency), "accounts": count,
            "currency": currency, "today": today}


def month_ends(today: dt.date, months: int) -> list[dt.date]:
    """The last `months` month ends, the current month's being today."""
    out, year, month = [today], today.year, today.month
    for _ in range(months - 1):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(dt.date(year, month, calendar.monthrange(year, month)[1]))
    return list(reversed(out))


def _per_day(qs, day, amount: str) -> list[tuple[dt.date, Decimal]]:
    rows = qs.annotate(d=day).values("d").annotate(s=Sum(amount)).order_by("d").values_list("d", "s")
    return [(d.date() if isinstance(d, dt.datetime) else d, s) for d, s in rows]


def dso_trend(*, today: dt.date, currency: str, months: int = 12) -> list[dict]:
    """AR at each month end and DSO (AR ÷ invoiced in the 90 days up to it × 90), from daily sums in SQL.

    AR at a day = invoiced up to it − applied up to it, where applied counts allocation rows (payments
    and credit notes) by their date. The database returns one sum per
    day (index-only scans of the dated covering indexes); the running sums are a few hundred additions."""
    invoiced = _per_day(Invoice.objects.filter(status=Invoice.Status.POSTED, currency=currency), F("invoice_date"), "total_amount")
    applied = _per_day(Allocation.objects.filter(currency=currency), F("allocated_date"), "amount")
    out = []
    for end in month_ends(today, months):
        ar = round_money(sum((s for d, s in invoiced if d <= end), ZERO) - sum((s for d, s in applied if d <= end), ZERO), currency)
        start = end - dt.timedelta(days=DSO_WINDOW_DAYS)
        sales = round_money(sum((s for d, s in invoiced if start < d <= end), ZERO), currency)
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
