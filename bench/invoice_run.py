"""Benchmark: one invoice run over N accounts × L subscription lines, posted, with W worker processes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_bench .venv/bin/python bench/invoice_run.py \
        --accounts 50000 --lines 12 --workers 2

Seeding (COPY) is not timed. The timed part is the whole run: listing the due accounts, cutting
chunks, and the workers billing every chunk (rating, tax, invoices and lines written, entries marked
billed, numbers taken, invoices posted, audit rows), until the run is finalized. The workers are
separate processes calling the same chunk service the Celery task calls.
"""

import argparse
import datetime as dt
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_site.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("DEBUG", "0")  # DEBUG keeps every query in memory: never benchmark with it


def worker(run_id, queue, group_size):
    import django

    django.setup()
    from invoicing.services.runs import invoice_run_process_chunk

    while True:
        index = queue.get()
        if index is None:
            return
        invoice_run_process_chunk(run_id=run_id, index=index, group_size=group_size)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--group-size", type=int, default=None, help="accounts per transaction (default: INVOICING_ACCOUNTS_PER_TRANSACTION)")
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        sys.exit("Run the benchmark on PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_bench")
    call_command("migrate", verbosity=0)
    from bench._seed import seed_accounts_and_subscriptions
    from invoicing.models import Invoice, InvoiceLine, InvoiceRun, InvoiceRunChunk
    from invoicing.services.runs import invoice_run_create, invoice_run_finalize, invoice_run_prepare

    target = dt.date(2025, 1, 1)
    if not args.no_seed:
        # A fresh target each time: bench data of earlier runs is already billed.
        last = InvoiceRun.objects.order_by("-target_date").values_list("target_date", flat=True).first()
        if last:
            target = dt.date(last.year + (last.month == 12), last.month % 12 + 1, 1)
        t0 = time.perf_counter()
        seed_accounts_and_subscriptions(accounts=args.accounts, lines=args.lines, start=target)
        print(f"seeded in {time.perf_counter() - t0:.1f} s (not counted)")
    before_invoices, before_lines = Invoice.objects.count(), InvoiceLine.objects.count()
    run = invoice_run_create(actor=None, target_date=target, auto_post=True, send_documents=False, chunk_size=args.chunk_size, start=False)
    connections.close_all()

    start = time.perf_counter()
    invoice_run_prepare(run_id=run.pk)
    indexes = list(InvoiceRunChunk.objects.filter(run_id=run.pk).order_by("index").values_list("index", flat=True))
    connections.close_all()
    queue = mp.Queue()
    for index in indexes:
        queue.put(index)
    for _ in range(args.workers):
        queue.put(None)
    procs = [mp.Process(target=worker, args=(run.pk, queue, args.group_size)) for _ in range(args.workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    invoice_run_finalize(run_id=run.pk)
    elapsed = time.perf_counter() - start

    run.refresh_from_db()
    invoices = Invoice.objects.count() - before_invoices
    lines = InvoiceLine.objects.count() - before_lines
    posted = Invoice.objects.filter(run=run, status="posted").count()
    print(f"run {run.pk}: {run.status}, {run.accounts_done:,} accounts, {invoices:,} invoices ({posted:,} posted), "
          f"{lines:,} lines, {run.accounts_failed} failed")
    print(f"wall time {elapsed:.1f} s with {args.workers} worker processes: "
          f"{invoices / elapsed:,.0f} invoices/s, {lines / elapsed:,.0f} lines/s")


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
