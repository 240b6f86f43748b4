"""Benchmark: import N accounts × L running subscription lines billed through last month, then bill them.

    createdb -h 127.0.0.1 -U postgres recur_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_bench .venv/bin/python bench/import_contracts.py \
        --accounts 50000 --lines 12 [--xlsx]

Generates the accounts file and the contracts file (one row per subscription line), then for each:
the dry run (every row through the stages' services, rolled back) and the commit (the same, kept),
each timed, with the peak memory of the process; then one invoice run over the imported contracts
(the first period after the billed-through date), and the next day's schedule extension (the daily
job). The commit runs in this process, calling the same service the Celery task calls.
"""

import argparse
import csv
import datetime as dt
import io
import resource
import sys
import time

import _env  # noqa: F401 - the project on sys.path, the benchmark settings


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def to_file(header, rows, xlsx: bool) -> tuple[bytes, str]:
    if xlsx:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue(), "data.xlsx"
    out = io.BytesIO()
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    text.flush()
    return out.getvalue(), "data.csv"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=12)
    parser.add_argument("--xlsx", action="store_true")
    parser.add_argument("--no-invoice-run", action="store_true")
    parser.add_argument("--invoice-run-only", action="store_true", help="skip the imports; bill what earlier runs imported")
    parser.add_argument("--no-daily-job", action="store_true", help="skip the next day's schedule extension")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from djmoney.money import Money

    if connection.vendor != "postgresql":
        sys.exit("Run the benchmark on PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_bench")
    call_command("migrate", verbosity=0)
    from django.conf import settings
    from django.db.models import Count, Max, Min

    from billing_site import clock
    from catalog.models import BillingRule, LegalEntity, PriceBook, PriceBookEntry, Product, TaxRate, TaxRule
    from catalog.pricing import add_months
    from contracts.models import ScheduleEntry, Subscription
    from contracts.services import schedules_extend
    from imports.services import import_commit, import_execute, import_upload
    from invoicing.models import Invoice, InvoiceLine
    from invoicing.services import invoice_run_create, invoice_run_execute

    entity, _ = LegalEntity.objects.get_or_create(
        name="Bench SAS", defaults={"country": "FR", "currency": "EUR", "invoice_prefix": "BI", "credit_note_prefix": "BC"})
    rule, _ = BillingRule.objects.get_or_create(name="Bench monthly", defaults={"legal_entity": entity})
    tax, _ = TaxRule.objects.get_or_create(name="Bench VAT")
    TaxRate.objects.get_or_create(tax_rule=tax, country="", legal_entity=None, defaults={"name": "VAT 20%", "rate_percent": 20})
    book = PriceBook.objects.filter(currency="EUR", is_standard=True).first() or PriceBook.objects.create(
        name="Bench EUR", currency="EUR", is_standard=True, legal_entity=entity)
    skus = []
    for i in range(args.lines):
        product, created = Product.objects.get_or_create(
            sku=f"BENCH-{i:02d}", defaults={"name": f"Bench line {i}", "billing_frequency": 1, "billing_rule": rule, "tax_rule": tax})
        if created or not PriceBookEntry.objects.filter(product=product, price_book=book).exists():
            PriceBookEntry.objects.create(price_book=book, product=product, pricing_model="per_unit",
                                          unit_price=Money("120.00", "EUR"))
        skus.append(product.sku)
    Product.objects.filter(sku__in=skus).update(tax_rule=tax, billing_rule=rule)

    today = clock.today()
    first_this_month = today.replace(day=1)
    billed_through = first_this_month - dt.timedelta(days=1)
    start = (first_this_month - dt.timedelta(days=200)).replace(day=1)
    tag = f"B{int(time.time())}"
    print(f"today {today}, contracts start {start}, billed through {billed_through}, tag {tag}, "
          f"load average {open('/proc/loadavg').read().split()[:3]}")

    # Generators: the files are built when their phase starts, so the peak memory is the import's.
    account_rows = ([f"{tag}-A{n}", f"Bench account {n}", "FR", "EUR"] for n in range(args.accounts))
    contract_rows = (
        [f"{tag}-K{n}", f"{tag}-A{n}", start.isoformat(), "24", billed_through.strftime("%d/%m/%Y"), sku, "3", "1 200,00"]
        for n in range(args.accounts) for sku in skus
    )
    figures = []
    first_subscription = Subscription.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def phase(name, fn):
        t0 = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t0
        figures.append((name, seconds, peak_mib()))
        print(f"{name:<28} {seconds:8.1f} s   peak {peak_mib():7.0f} MiB   load {open('/proc/loadavg').read().split()[:3]}",
              flush=True)
        return result

    for kind, header, rows in [] if args.invoice_run_only else [
        ("accounts", ["external_id", "name", "country", "currency"], account_rows),
        ("contracts", ["contract_id", "account", "start_date", "term_months", "billed_through", "product", "quantity",
                       "unit_price"], contract_rows),
    ]:
        content, filename = to_file(header, rows, args.xlsx)
        rows_count = content.count(b"\n") - 1 if not args.xlsx else "?"
        print(f"{kind}: {rows_count} rows, {len(content) / 1e6:.1f} MB {filename}")
        batch = phase(f"{kind} dry run", lambda k=kind, f=filename, c=content: import_upload(
            kind=k, filename=f, content=c, actor=None))
        assert not batch.counts.get("error"), batch.errors[:3]
        print(f"  {kind} totals {batch.totals} counts { {k: batch.counts[k] for k in ('create', 'error')} }")
        import_commit(batch=batch, actor=None, mode="all")
        batch = phase(f"{kind} commit", lambda batch=batch: import_execute(batch_id=batch.pk))
        assert batch.status == "done", batch.message

    if not args.invoice_run_only:
        subs = Subscription.objects.filter(id__gt=first_subscription)
        span = subs.aggregate(Min("scheduled_until"), Max("scheduled_until"), n=Count("id"))
        rows = ScheduleEntry.objects.filter(subscription_id__gt=first_subscription).count()
        print(f"  schedule: {rows} rows for {span['n']} subscriptions (MIGRATED_SCHEDULE_MONTHS="
              f"{settings.MIGRATED_SCHEDULE_MONTHS}), scheduled until {span['scheduled_until__min']}.."
              f"{span['scheduled_until__max']}; the daily job writes the rest as the months pass", flush=True)

    if not args.no_invoice_run:
        before = Invoice.objects.count(), InvoiceLine.objects.count()
        run = phase("invoice run", lambda: invoice_run_execute(run=invoice_run_create(
            actor=None, target_date=first_this_month, auto_post=True, send_documents=False, start=False)))
        print(f"  invoices {Invoice.objects.count() - before[0]}, lines {InvoiceLine.objects.count() - before[1]}, "
              f"status {run.status}")
        # The first Recur invoice covers exactly the first period after billed-through: every line of
        # the run is the month that starts the day after it.
        lines = InvoiceLine.objects.filter(invoice__run=run)
        span = lines.aggregate(Min("period_start"), Max("period_start"), Min("period_end"), Max("period_end"), n=Count("id"))
        expected = (billed_through + dt.timedelta(days=1), add_months(anchor=first_this_month, months=1))
        print(f"  run lines {span['n']}: periods {span['period_start__min']}..{span['period_start__max']} → "
              f"{span['period_end__min']}..{span['period_end__max']} (expected [{expected[0]}, {expected[1]}))")
        assert (span["period_start__min"], span["period_start__max"]) == (expected[0], expected[0])
        assert (span["period_end__min"], span["period_end__max"]) == (expected[1], expected[1])
    if not args.no_daily_job:
        # The next day the daily job moves every migrated subscription's schedule one period on
        # (they all start on the 1st: the month three months ahead starts before the new horizon).
        added = phase("daily job, the next day", lambda: schedules_extend(today=today + dt.timedelta(days=1)))
        print(f"  schedule rows added: {added}")
    print("phase,seconds,peak_mib")
    for name, seconds, mib in figures:
        print(f"{name},{seconds:.1f},{mib:.0f}")


if __name__ == "__main__":
    main()
