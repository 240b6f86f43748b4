"""Benchmark: recognize a month and close it for N accounts × L posted lines, then the FEC export of
a million journal lines.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_bench_books .venv/bin/python bench/revenue.py \
        --accounts 50000 --lines 12 --fec-lines 1000000

Seeding (COPY) is not timed: accounts, then one deferred schedule row per line in the month (the
rows posting writes), then the journal lines of the FEC part. The journal seed is copied with
PostgreSQL's triggers off (`session_replication_role = replica`), as a restore would; the rows are
balanced entries all the same.

Timed: (1) `period_close` of the month — journal what is pending, recognize every deferred row of
the month (one aggregated entry, every row marked recognized by a set-based UPDATE under the close
triggers), check the journal and the documents, freeze the period; (2) `fec_chunks` streamed to a
file, with the process's peak RSS before and after (flat memory: the export must not grow with the
file).
"""

import argparse
import datetime as dt
import os
import resource
import sys
import time
from decimal import Decimal

import _env  # noqa: F401 - the project on sys.path, the benchmark settings


def rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it does not carry the parent's peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(*, accounts: int, lines: int, fec_lines: int, month: dt.date):
    from django.db import connection

    from accounting.models import FinancePeriod, JournalEntry, JournalLine, RevenueLine
    from accounting.services import books_ensure, periods_ensure
    from accounting.services.books import chart_roles
    from bench._seed import copy_rows, reset_sequences
    from catalog.models import LegalEntity
    from customers.models import Account

    tag = f"{month:%Y%m}"
    entity, _ = LegalEntity.objects.get_or_create(
        name=f"Revenue Bench {tag}", defaults={"country": "FR", "currency": "EUR", "invoice_prefix": f"RB{tag}-",
                                               "credit_note_prefix": f"RBC{tag}-"},
    )
    books_ensure(legal_entity=entity)
    periods_ensure(legal_entity=entity, first_date=month, last_date=month)
    period = FinancePeriod.objects.get(legal_entity=entity, start_date=month)
    first_id = (Account.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    ids = range(first_id, first_id + accounts)
    copy_rows(Account, [{"id": a, "number": f"RB{tag}-{a:07d}", "name": f"Bench account {a}", "country": "FR",
                         "currency": "EUR", "billing_day": 1} for a in ids])
    reset_sequences(Account)
    end = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    rows = []
    for a in ids:
        for n in range(lines):
            rows.append({"legal_entity_id": entity.pk, "customer_id": a, "line_key": f"b{tag}:{a}:{n}", "kind": "schedule",
                         "rule": "daily", "currency": "EUR", "billed_date": month, "period_start": month, "period_end": end,
                         "amount": Decimal("31.00")})
        if len(rows) >= 100_000:
            copy_rows_no_id(RevenueLine, rows)
            rows = []
    if rows:
        copy_rows_no_id(RevenueLine, rows)
    # The FEC part: balanced 3-line entries (Dr 411 / Cr 487 / Cr 44571) in the same month.
    roles = chart_roles(legal_entity=entity)
    receivable, deferred, vat = roles["receivable"].pk, roles["deferred_revenue"].pk, roles["vat_collected"].pk
    entries = fec_lines // 3
    first_entry = (JournalEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    entry_rows, line_rows = [], []
    for i in range(entries):
        eid = first_entry + i
        aid = first_id + (i % accounts)
        day = month + dt.timedelta(days=i % 28)
        entry_rows.append({"id": eid, "legal_entity_id": entity.pk, "period_id": period.pk, "journal": "VE", "kind": "invoice",
                           "source_key": f"bench{tag}:{eid}", "entry_date": day, "piece_ref": f"RB{tag}-{i:07d}", "piece_date": day,
                           "label": f"RB{tag}-{i:07d} Bench account {aid}", "currency": "EUR"})
        for account, customer, debit, credit in ((receivable, aid, Decimal("37.20"), 0), (deferred, None, 0, Decimal("31.00")),
                                                 (vat, None, 0, Decimal("6.20"))):
            line_rows.append({"entry_id": eid, "period_id": period.pk, "legal_entity_id": entity.pk, "ledger_account_id": account,
                              "customer_id": customer, "label": f"RB{tag}-{i:07d} Bench account {aid}", "debit": debit,
                              "credit": credit})
        if len(line_rows) >= 150_000:
            copy_rows(JournalEntry, entry_rows)
            copy_rows_no_id(JournalLine, line_rows)
            entry_rows, line_rows = [], []
    if entry_rows:
        copy_rows(JournalEntry, entry_rows)
        copy_rows_no_id(JournalLine, line_rows)
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("ANALYZE accounting_revenueline; ANALYZE accounting_journalline; ANALYZE accounting_journalentry")
    reset_sequences(JournalEntry)
    return entity, period, entries * 3


def copy_rows_no_id(model, rows):
    """COPY without the id column (the sequence numbers them)."""
    from django.db import connection
    from django.utils import timezone

    from bench._seed import _default

    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if f.name != "id"]
    sql = f"COPY {model._meta.db_table} ({', '.join(f.column for f in fields)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([row[f.attname] if f.attname in row else row.get(f.name, _default(f, now)) for f in fields])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=12)
    parser.add_argument("--fec-lines", type=int, default=1_000_000)
    parser.add_argument("--out", default="/tmp/recur-bench-fec.txt")
    parser.add_argument("--fec-only", nargs=2, type=int, metavar=("ENTITY", "YEAR"), help="only the FEC export (internal)")
    parser.add_argument("--only-fec", action="store_true", help="seed only the journal lines and time only the FEC export")
    args = parser.parse_args()
    if args.fec_only:
        return fec_only(args.fec_only[0], args.fec_only[1], args.out)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("Run the benchmark on PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_bench_books")
    call_command("migrate", verbosity=0)
    from accounting.models import FinancePeriod, RevenueLine
    from accounting.services import period_close

    # A fresh month each time, so the benchmark can run again on the same database.
    used = FinancePeriod.objects.filter(legal_entity__name__startswith="Revenue Bench").count() // 12
    month = dt.date(2030 + used, 1, 1)
    t0 = time.perf_counter()
    schedule_lines = 0 if args.only_fec else args.lines
    entity, period, journal_lines = seed(accounts=args.accounts, lines=schedule_lines, fec_lines=args.fec_lines, month=month)
    print(f"seeded {args.accounts * schedule_lines:,} schedule rows and {journal_lines:,} journal lines in "
          f"{time.perf_counter() - t0:.1f} s (not counted)")
    if args.only_fec:
        return fec_subprocess(entity, month, args.out)

    from accounting.services import books_process, revenue_recognize

    start = time.perf_counter()
    if os.environ.get("BENCH_STEPS"):
        books_process(legal_entity=entity, today=month)
        print(f"  journal pending: {time.perf_counter() - start:.1f} s")
        revenue_recognize(legal_entity=entity, up_to=period.end_date)
        print(f"  recognize: {time.perf_counter() - start:.1f} s")
    period_close(period=period, actor=None, today=month)
    elapsed = time.perf_counter() - start
    recognized = RevenueLine.objects.filter(recognized_period=period).count()
    print(f"close {period.name}: {recognized:,} rows recognized and the period closed in {elapsed:.1f} s")

    fec_subprocess(entity, month, args.out)


def fec_subprocess(entity, month: dt.date, out: str):
    """The export runs in a fresh process, so its peak RSS is its own (not the seeding's)."""
    import subprocess

    subprocess.run([sys.executable, __file__, "--fec-only", str(entity.pk), str(month.year), "--out", out], check=True)


def fec_only(entity_id: int, year: int, out_path: str):
    import django

    django.setup()
    from accounting.selectors import fec_chunks
    from catalog.models import LegalEntity

    entity = LegalEntity.objects.get(pk=entity_id)
    before = rss_mb()
    start = time.perf_counter()
    count = 0
    with open(out_path, "wb") as out:
        for chunk in fec_chunks(legal_entity=entity, start=dt.date(year, 1, 1), end=dt.date(year + 1, 1, 1)):
            out.write(chunk)
            count += chunk.count(b"\n")
    elapsed = time.perf_counter() - start
    size = os.path.getsize(out_path) / 1e6
    print(f"FEC: {count - 1:,} lines ({size:.0f} MB) in {elapsed:.1f} s = {(count - 1) / elapsed:,.0f} lines/s; "
          f"peak RSS {before:.0f} MB at start, {rss_mb():.0f} MB at the end")


if __name__ == "__main__":
    main()
