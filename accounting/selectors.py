"""Accounting reads: trial balance, the FEC and journal exports (streamed), revenue reports, MRR."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Q, Sum

from accounting.models import Books, ChartAccount, FinancePeriod, JournalEntry, JournalLine, RevenueLine
from accounting.recognition import add_months
from billing_site.money import ZERO
from catalog.models import LegalEntity
from invoicing.models import Invoice, InvoiceLine, LineSource

FEC_COLUMNS = [
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum", "CompAuxLib",
    "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet", "ValidDate", "Montantdevise",
    "Idevise",
]
JOURNAL_CSV_COLUMNS = [
    "entry", "journal", "date", "period", "kind", "account", "account_name", "customer", "document", "document_date",
    "label", "debit", "credit", "currency",
]
JOURNAL_NAMES = {"VE": "Ventes", "BQ": "Banque", "OD": "Opérations diverses"}


CENT = Decimal("0.01")


def _fec_amount(value: Decimal) -> str:
    # The FEC wants a comma as the decimal separator and no thousands separator; half-up to the
    # cent, as PostgreSQL's round() does, so both paths print the same digits.
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):.2f}".replace(".", ",")


def _fec_text(value: str) -> str:
    # Tabs and line breaks would break the layout: every run of whitespace becomes one space.
    return " ".join(str(value or "").split())


# The characters Python's str.split() treats as whitespace, as a PostgreSQL regular expression
# class, so the database cleans text exactly as `_fec_text` does.
_WHITESPACE_CLASS = "[" + "".join(
    f"\\u{c:04x}" for c in (*range(0x09, 0x0E), *range(0x1C, 0x21), 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
                             0x202F, 0x205F, 0x3000)
) + "]+"


def fec_filename(*, legal_entity: LegalEntity, year_end: dt.date) -> str:
    """`<SIREN>FEC<YYYYMMDD>.txt`, the date being the fiscal year's closing date."""
    books = Books.objects.filter(legal_entity=legal_entity).first()
    siren = (books.siren if books else "") or "000000000"
    return f"{siren}FEC{year_end:%Y%m%d}.txt"


FEC_HEADER = ("\t".join(FEC_COLUMNS) + "\r\n").encode("utf-8")
_CHUNK_BYTES = 256 * 1024  # the portable path's chunks


def fec_chunks(*, legal_entity: LegalEntity, start: dt.date, end: dt.date) -> Iterator[bytes]:
    """The FEC of `[start, end)` as UTF-8 bytes in chunks, header first, lines in entry order.

    One line per journal line, 18 tab-separated columns, CRLF. EcritureNum is a continuous sequence
    over the file (entries in date order), as the layout asks. Amounts are in the entry's currency;
    when it is not the entity's, Montantdevise/Idevise say so. On PostgreSQL the database writes the
    lines already formatted and a server-side cursor streams them (a million lines at flat memory);
    elsewhere Python formats the same bytes (`fec_lines_portable`)."""
    yield FEC_HEADER
    if connection.vendor == "postgresql":
        yield from fec_chunks_postgresql(legal_entity=legal_entity, start=start, end=end)
    else:
        yield from _batched_bytes(fec_lines_portable(legal_entity=legal_entity, start=start, end=end))


def _batched_bytes(lines: Iterator[str]) -> Iterator[bytes]:
    batch: list[str] = []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if size >= _CHUNK_BYTES:
            yield "".join(batch).encode("utf-8")
            batch, size = [], 0
    if batch:
        yield "".join(batch).encode("utf-8")


def fec_lines_portable(*, legal_entity: LegalEntity, start: dt.date, end: dt.date) -> Iterator[str]:
    """The FEC's lines (no header) formatted in Python, for any database."""
    chart = {a.pk: (a.code, _fec_text(a.name)) for a in ChartAccount.objects.filter(legal_entity=legal_entity)}
    home = legal_entity.currency
    rows = (
        JournalLine.objects.filter(legal_entity=legal_entity, entry__entry_date__gte=start, entry__entry_date__lt=end)
        .order_by("entry__entry_date", "entry_id", "id")
        .values_list(
            "entry_id", "entry__journal", "entry__entry_date", "ledger_account_id", "customer__number", "customer__name",
            "entry__piece_ref", "entry__piece_date", "label", "debit", "credit", "entry__created_at", "entry__currency",
        )
    )
    number = 0
    last_entry = None
    for entry_id, journal, day, account_id, aux, aux_name, piece, piece_date, label, debit, credit, created, currency in rows.iterator(
        chunk_size=10000
    ):
        if entry_id != last_entry:
            number += 1
            last_entry = entry_id
        code, name = chart[account_id]
        foreign = currency != home
        yield "\t".join((
            journal, JOURNAL_NAMES.get(journal, journal), str(number), day.strftime("%Y%m%d"), code, name, _fec_text(aux),
            _fec_text(aux_name), _fec_text(piece), (piece_date or day).strftime("%Y%m%d"), _fec_text(label),
            _fec_amount(debit), _fec_amount(credit), "", "", created.astimezone(dt.UTC).strftime("%Y%m%d"),
            _fec_amount(debit - credit) if foreign else "", currency if foreign else "",
        )) + "\r\n"


# The same bytes as `fec_lines_portable`, written by PostgreSQL. What belongs to an entry (journal,
# dates, document, validation date) is formatted once per entry, what belongs to an account or a
# customer once per account or customer (hash joins; OFFSET 0 keeps the planner from pulling that
# formatting up to every line), and per line only the amounts. Free text typed elsewhere (account
# and customer names and numbers, document references) goes through the same whitespace cleaning as
# `_fec_text`; line labels are cleaned when they are written (`services.journal._write`, the only
# writer: lines are never updated). EcritureNum is a dense rank over (date, entry), computed on the
# sort the file's order needs anyway. Each row is one finished line, CRLF included.
_FEC_SQL = """
SELECT concat(
    e.head, dense_rank() OVER (ORDER BY e.entry_date, e.id), e.day, a.txt, coalesce(c.txt, E'\t\t'), e.piece,
    l.label, E'\t',
    replace(round(l.debit, 2)::text, '.', ','), E'\t', replace(round(l.credit, 2)::text, '.', ','), e.tail,
    CASE WHEN e.is_foreign THEN replace(round(l.debit - l.credit, 2)::text, '.', ',') END, e.idevise, E'\r\n')
FROM (
    SELECT id, entry_date,
        concat(journal, E'\t', CASE journal WHEN 'VE' THEN 'Ventes' WHEN 'BQ' THEN 'Banque'
                                             WHEN 'OD' THEN 'Opérations diverses' ELSE journal END, E'\t') AS head,
        concat(E'\t', to_char(entry_date, 'YYYYMMDD'), E'\t') AS day,
        concat(btrim(regexp_replace(piece_ref, %(ws)s, ' ', 'g'), ' '), E'\t',
               to_char(coalesce(piece_date, entry_date), 'YYYYMMDD'), E'\t') AS piece,
        concat(E'\t\t\t', to_char(created_at AT TIME ZONE 'UTC', 'YYYYMMDD'), E'\t') AS tail,
        currency <> %(home)s AS is_foreign,
        CASE WHEN currency <> %(home)s THEN E'\t' || currency ELSE E'\t' END AS idevise
    FROM accounting_journalentry
    WHERE legal_entity_id = %(entity)s AND entry_date >= %(start)s AND entry_date < %(end)s
    OFFSET 0
) e
JOIN accounting_journalline l ON l.entry_id = e.id
JOIN (
    SELECT id, concat(code, E'\t', btrim(regexp_replace(name, %(ws)s, ' ', 'g'), ' '), E'\t') AS txt
    FROM accounting_chartaccount
    OFFSET 0
) a ON a.id = l.ledger_account_id
LEFT JOIN (
    SELECT id, concat(btrim(regexp_replace(number, %(ws)s, ' ', 'g'), ' '), E'\t',
                      btrim(regexp_replace(name, %(ws)s, ' ', 'g'), ' '), E'\t') AS txt
    FROM customers_account
    OFFSET 0
) c ON c.id = l.customer_id
WHERE l.legal_entity_id = %(entity)s
ORDER BY e.entry_date, e.id, l.id
"""
_FETCH_ROWS = 20000


def fec_chunks_postgresql(*, legal_entity: LegalEntity, start: dt.date, end: dt.date) -> Iterator[bytes]:
    """The FEC's lines (no header) as PostgreSQL writes them, one chunk per 20,000 lines.

    A server-side cursor hands over finished lines, 20,000 at a time, joined and encoded at once: no
    per-line work in Python (cheaper for the client than COPY, which psycopg reads row by row)."""
    params = {"home": legal_entity.currency, "entity": legal_entity.pk, "start": start, "end": end, "ws": _WHITESPACE_CLASS}
    connection.ensure_connection()
    with transaction.atomic(), connection.connection.cursor(name=f"fec_{legal_entity.pk}") as cursor:
        # The year's lines are sorted once; enough memory keeps that sort off the disk. The cursor is
        # read to its end, so plan for all rows rather than the first ones.
        connection.connection.execute("SET LOCAL work_mem = '256MB'")
        connection.connection.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        cursor.itersize = _FETCH_ROWS
        cursor.execute(_FEC_SQL, params)
        while batch := cursor.fetchmany(_FETCH_ROWS):
            yield "".join([row[0] for row in batch]).encode("utf-8")


def journal_rows(*, legal_entity: LegalEntity, start: dt.date, end: dt.date) -> Iterator[list]:
    """The journal of `[start, end)` as CSV rows (for the project's CSV helper), streamed."""
    qs = (
        JournalLine.objects.filter(legal_entity=legal_entity, entry__entry_date__gte=start, entry__entry_date__lt=end)
        .order_by("entry__entry_date", "entry_id", "id")
        .values_list(
            "entry_id", "entry__journal", "entry__entry_date", "period__name", "entry__kind", "ledger_account__code",
            "ledger_account__name", "customer__number", "entry__piece_ref", "entry__piece_date", "label", "debit", "credit",
            "entry__currency",
        )
    )
    cent = Decimal("0.01")
    for row in qs.iterator(chunk_size=10000):
        row = list(row)
        row[2] = row[2].isoformat()
        row[9] = row[9].isoformat() if row[9] else ""
        row[11], row[12] = f"{row[11].quantize(cent)}", f"{row[12].quantize(cent)}"
        row[7] = row[7] or ""
        yield row


def trial_balance(*, period: FinancePeriod) -> dict:
    """Per ledger account: opening balance (before the period), debits, credits and closing balance."""
    accounts = list(ChartAccount.objects.filter(legal_entity=period.legal_entity_id).order_by("code"))
    base = JournalLine.objects.filter(legal_entity=period.legal_entity_id)
    before = {
        r["ledger_account_id"]: (r["d"] or ZERO) - (r["c"] or ZERO)
        for r in base.filter(period__start_date__lt=period.start_date).values("ledger_account_id").annotate(d=Sum("debit"), c=Sum("credit"))
    }
    during = {
        r["ledger_account_id"]: (r["d"] or ZERO, r["c"] or ZERO)
        for r in base.filter(period=period).values("ledger_account_id").annotate(d=Sum("debit"), c=Sum("credit"))
    }
    rows = []
    for account in accounts:
        opening = before.get(account.pk, ZERO)
        debit, credit = during.get(account.pk, (ZERO, ZERO))
        rows.append({"account": account, "code": account.code, "name": account.name, "opening": opening, "debit": debit,
                     "credit": credit, "closing": opening + debit - credit})
    return {
        "rows": rows,
        "debit": sum((r["debit"] for r in rows), ZERO),
        "credit": sum((r["credit"] for r in rows), ZERO),
        "closing": sum((r["closing"] for r in rows), ZERO),
    }


# ------------------------------------------------------------------------------------- reports

def month_key(day: dt.date) -> dt.date:
    return day.replace(day=1)


def revenue_by_month(*, currency: str, start: dt.date, end: dt.date, legal_entity=None, customer=None) -> list[dict]:
    """Per month of `[start, end)`: billed (net of credits), recognized, and deferred at month end.

    Recognition follows the schedule rows: a row counts as recognized in the month of its period
    (the books may recognize a late row later; the row's month is where its revenue belongs).
    Roll-forward per month: opening + billed − recognized = closing deferred."""
    rows = RevenueLine.objects.filter(currency=currency)
    if legal_entity is not None:
        rows = rows.filter(legal_entity=legal_entity)
    if customer is not None:
        rows = rows.filter(customer=customer)
    billed = defaultdict(Decimal)
    earned = defaultdict(Decimal)
    opening = ZERO
    for r in rows.values("billed_date", "period_start").annotate(s=Sum("amount")).order_by():
        billed_month = month_key(r["billed_date"])
        earned_month = month_key(r["period_start"])
        if billed_month < start:
            opening += r["s"]
        else:
            billed[billed_month] += r["s"]
        if earned_month < start:
            opening -= r["s"]
        else:
            earned[earned_month] += r["s"]
    out = []
    month = start
    deferred = opening
    while month < end:
        b, e = billed.get(month, ZERO), earned.get(month, ZERO)
        closing = deferred + b - e
        out.append({"month": month, "opening": deferred, "billed": b, "recognized": e, "deferred": closing})
        deferred = closing
        month = add_months(month, 1, 1)
    return out


def waterfall(*, currency: str, start: dt.date, end: dt.date, legal_entity=None) -> dict:
    """Rows: the month billed; columns: the months recognized (within `[start, end)`), plus later."""
    qs = RevenueLine.objects.filter(currency=currency, billed_date__gte=start, billed_date__lt=end)
    if legal_entity is not None:
        qs = qs.filter(legal_entity=legal_entity)
    months = []
    m = start
    while m < end:
        months.append(m)
        m = add_months(m, 1, 1)
    cells = defaultdict(lambda: defaultdict(Decimal))
    for r in qs.values("billed_date", "period_start").annotate(s=Sum("amount")).order_by():
        col = month_key(r["period_start"])
        col = col if col < end else "later"
        col = col if col == "later" or col >= start else start
        cells[month_key(r["billed_date"])][col] += r["s"]
    rows = []
    for bm in months:
        values = [cells[bm].get(cm, ZERO) for cm in months] + [cells[bm].get("later", ZERO)]
        rows.append({"month": bm, "values": values, "total": sum(values, ZERO)})
    return {"months": months, "rows": rows}


def _mrr_spans(*, currency: str, start: dt.date, end: dt.date, legal_entity=None) -> list[tuple]:
    """(account id, product id, service start, service end, monthly value) of each live subscription line."""
    lines = InvoiceLine.objects.filter(
        invoice__currency=currency, invoice__status=Invoice.Status.POSTED, source=LineSource.SUBSCRIPTION,
        period_start__isnull=False, period_end__gt=start - dt.timedelta(days=400),
    ).filter(Q(period_start__lt=end))
    if legal_entity is not None:
        lines = lines.filter(invoice__legal_entity=legal_entity)
    credited = defaultdict(Decimal)
    for r in (
        RevenueLine.objects.filter(credit_note_line__isnull=False, invoice_line__in=lines.values("pk"))
        .values("invoice_line_id").annotate(s=Sum("amount")).order_by()
    ):
        credited[r["invoice_line_id"]] += r["s"]
    spans = []
    for line in lines.values("pk", "invoice__account_id", "subscription__product_id", "period_start", "period_end", "net_amount"):
        days = (line["period_end"] - line["period_start"]).days
        if days <= 0:
            continue
        net = line["net_amount"] + credited.get(line["pk"], ZERO)
        spans.append((line["invoice__account_id"], line["subscription__product_id"], line["period_start"], line["period_end"],
                      net * 365 / (12 * days)))
    return spans


def _month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    months = []
    m = add_months(start, -1, 1)
    while m < end:
        months.append(m)
        m = add_months(m, 1, 1)
    return months


def _mrr_at(spans, month: dt.date, key: int) -> dict:
    last_day = add_months(month, 1, 1) - dt.timedelta(days=1)
    out = defaultdict(Decimal)
    for span in spans:
        if span[2] <= last_day < span[3]:
            out[span[key]] += span[4]
    return {k: v.quantize(Decimal("0.01")) for k, v in out.items() if v}


def mrr_by_month(*, currency: str, start: dt.date, end: dt.date, legal_entity=None) -> list[dict]:
    """MRR and ARR at each month end with their movements per account.

    A subscription line of a live invoice contributes net × 365 ÷ (12 × its days) to every month
    end its service period covers (a year billed 365.00 is 30.42 a month); cancelled invoices and
    credited amounts are left out. Movements compare each account with the month before: new (first
    MRR ever), reactivation (back after a month at zero), expansion, contraction, churn (to zero)."""
    spans = _mrr_spans(currency=currency, start=start, end=end, legal_entity=legal_entity)
    months = _month_ends(start, end)
    per_month = [_mrr_at(spans, m, 0) for m in months]
    out = []
    ever = set(per_month[0])
    for index in range(1, len(months)):
        prev, cur = per_month[index - 1], per_month[index]
        moves = {"new": ZERO, "reactivation": ZERO, "expansion": ZERO, "contraction": ZERO, "churn": ZERO}
        for account_id in set(prev) | set(cur):
            before, after = prev.get(account_id, ZERO), cur.get(account_id, ZERO)
            if not before and after:
                moves["reactivation" if account_id in ever else "new"] += after
            elif before and not after:
                moves["churn"] -= before
            elif after > before:
                moves["expansion"] += after - before
            elif after < before:
                moves["contraction"] += after - before
        ever |= set(cur)
        mrr = sum(cur.values(), ZERO)
        out.append({"month": months[index], "mrr": mrr, "arr": mrr * 12, "accounts": len(cur), **moves})
    return out


def mrr_breakdown(*, currency: str, start: dt.date, end: dt.date, by: str, legal_entity=None) -> dict:
    """MRR at each month end per account or per product: {"months": [...], "rows": [{"name", "values"}]}."""
    from catalog.models import Product
    from customers.models import Account

    spans = _mrr_spans(currency=currency, start=start, end=end, legal_entity=legal_entity)
    months = _month_ends(start, end)[1:]
    key = 0 if by == "account" else 1
    per_month = [_mrr_at(spans, m, key) for m in months]
    ids = set().union(*per_month) if per_month else set()
    model = Account if by == "account" else Product
    names = dict(model.objects.filter(pk__in=[i for i in ids if i is not None]).values_list("pk", "name"))
    rows = [
        {"id": i, "name": names.get(i, "—"), "values": [m.get(i, ZERO) for m in per_month]}
        for i in ids
    ]
    rows.sort(key=lambda r: (-r["values"][-1], r["name"]))
    return {"months": months, "rows": rows}


def account_revenue(*, account) -> dict:
    """Revenue to date of one account, per currency: billed net, recognized, deferred."""
    out = []
    qs = RevenueLine.objects.filter(customer=account).values("currency").annotate(
        billed=Sum("amount"), recognized=Sum("amount", filter=Q(recognized_period__isnull=False))
    ).order_by("currency")
    for r in qs:
        recognized = r["recognized"] or ZERO
        out.append({"currency": r["currency"], "billed": r["billed"], "recognized": recognized, "deferred": r["billed"] - recognized})
    return {"revenue": out}


def account_panel(*, account, user) -> dict:
    """The revenue-to-date panel shown above the account page's tabs (registered in AccountingConfig.ready)."""
    return {"template": "accounting/revenue_panel.html", **account_revenue(account=account)}


def account_timeline_figures(*, account, today: dt.date) -> list[dict]:
    """Revenue to date on the account timeline, in the account's currency: recognized in the books and
    still deferred (registered in AccountingConfig.ready)."""
    from django.utils.translation import gettext as _

    row = next((r for r in account_revenue(account=account)["revenue"] if r["currency"] == account.currency), None)
    recognized, deferred = (row["recognized"], row["deferred"]) if row else (ZERO, ZERO)
    return [
        {"key": "revenue-recognized", "label": _("Revenue recognized"), "amount": recognized, "currency": account.currency},
        {"key": "revenue-deferred", "label": _("Revenue deferred"), "amount": deferred, "currency": account.currency},
    ]


def periods_for(*, legal_entity: LegalEntity):
    return FinancePeriod.objects.filter(legal_entity=legal_entity).order_by("-start_date")


def entries_count_by_period(*, legal_entity: LegalEntity) -> dict[int, int]:
    from django.db.models import Count

    return {
        r["period_id"]: r["n"]
        for r in JournalEntry.objects.filter(legal_entity=legal_entity).values("period_id").annotate(n=Count("id")).order_by()
    }


def journal_entries(*, period: FinancePeriod):
    """A period's entries, newest first, with what reversed them."""
    return (
        JournalEntry.objects.filter(period=period).select_related("reversed_by", "reverses")
        .annotate(total=Sum("lines__debit")).order_by("-entry_date", "-id")
    )


def reversal_preview(*, entry: JournalEntry, today: dt.date) -> dict:
    """What reversing `entry` would post: the mirror lines, in the open period holding `today` (or
    the first open one after it, created if need be). Nothing is written."""
    lines = [
        {"code": line.ledger_account.code, "name": line.ledger_account.name, "customer": line.customer,
         "debit": line.credit, "credit": line.debit}
        for line in entry.lines.select_related("ledger_account", "customer").order_by("id")
    ]
    period = (
        FinancePeriod.objects.filter(legal_entity=entry.legal_entity_id, end_date__gt=today, status=FinancePeriod.Status.OPEN)
        .order_by("start_date").first()
    )
    return {"lines": lines, "period": period, "entry_date": max(today, period.start_date) if period else today}
