"""Benchmark: one invoice run over N accounts × L subscription lines, created and posted through real
Celery workers on Redis, against the COPY floor of the same rows measured in the same script.

    createdb -h 127.0.0.1 -U postgres recur_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_bench CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/invoice_run.py --accounts 50000 --lines 12 --workers 2

1. Seeding (COPY of accounts, contracts, subscriptions and one due schedule entry per line) is not timed.
2. `celery -A billing_site worker` is started with `--workers` processes (prefork) on the broker, and
   the script waits until it answers a ping (not timed: production workers are already up).
3. Timed: the run is created by the service the page and the API call (`invoice_run_create`, which
   sends `invoice_run_start` after commit); the start task cuts the chunks and sends one
   `invoice_run_chunk` task each; the workers bill them (invoices and lines written, entries marked
   billed, numbers taken, invoices posted, events and audit rows) and the last chunk finalizes the
   run. The clock stops when the run row is finished (polled every 100 ms).
4. The workers are stopped; the result is checked: one posted invoice per account, every line,
   totals to the cent against the seeded prices, numbers unique and without gaps, nothing left due.
5. The floor: the invoice, line, audit and event rows this run wrote are read back, and written again
   by plain COPY, in one transaction, into scratch copies of their tables with the same indexes,
   check and foreign-key constraints (no triggers). Then the scratch tables are dropped.
"""

import argparse
import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from _env import ROOT  # the project on sys.path, the benchmark settings

TARGET_SECONDS = 15.0
TARGET_RATIO = 3.0
CENT = Decimal("0.01")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def start_workers(*, processes: int, group_size: int | None, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ)
    if group_size:
        env["INVOICING_ACCOUNTS_PER_TRANSACTION"] = str(group_size)
    cmd = [
        sys.executable, "-m", "celery", "-A", "billing_site", "worker", "--pool", "prefork", "--concurrency", str(processes),
        "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--hostname", f"bench-{os.getpid()}@%h",
    ]
    log = log_path.open("wb")
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(app, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    name = f"bench-{os.getpid()}@"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the worker exited with {proc.returncode}; see its log")
        replies = app.control.ping(timeout=0.5) or []
        if any(name in host for reply in replies for host in reply):
            return
    sys.exit("the worker did not answer a ping within a minute")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its live children: the workers' own work, whatever
    else runs on the machine."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def stop_workers(proc: subprocess.Popen) -> None:
    """Warm shutdown (SIGTERM to the worker's main process), then kill after 30 s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def expected_total(*, accounts: int, lines: int) -> Decimal:
    """What the run must bill, from the seeded prices (bench/_seed.py): net rounded per line, VAT 20 % per line."""
    per_account = Decimal("0")
    for i in range(lines):
        net = (Decimal(1200 + 12 * i) / 12 * (1 + i % 3)).quantize(CENT)
        tax = (net * Decimal("0.20")).quantize(CENT, rounding=ROUND_HALF_UP)
        per_account += net + tax
    return per_account * accounts


def verify(*, run, accounts: int, lines: int, series_before: dict) -> list[str]:
    """Everything the run must have written; returns the problems found (none is the only pass)."""
    from django.db import connection

    from invoicing.models import NumberSeries

    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'posted'), count(DISTINCT account_id), count(DISTINCT sequence), "
            "min(sequence), max(sequence), sum(total_amount), count(*) FILTER (WHERE number IS NULL), "
            "count(*) FILTER (WHERE open_amount <> total_amount OR payment_status <> 'unpaid') "
            "FROM invoicing_invoice WHERE run_id = %s", [run.pk])
        count, posted, distinct_accounts, distinct_seq, low, high, total, unnumbered, balance_off = cursor.fetchone()
        cursor.execute("SELECT count(*), sum(l.total_amount) FROM invoicing_invoiceline l JOIN invoicing_invoice i ON i.id = l.invoice_id "
                       "WHERE i.run_id = %s", [run.pk])
        line_count, line_total = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM (SELECT i.id FROM invoicing_invoice i JOIN invoicing_invoiceline l ON l.invoice_id = i.id "
            "WHERE i.run_id = %s GROUP BY i.id HAVING i.total_amount <> sum(l.total_amount) "
            "OR i.subtotal_amount <> sum(l.net_amount) OR i.tax_amount <> sum(l.tax_amount)) AS bad", [run.pk])
        (mismatched,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM contracts_scheduleentry WHERE status = 'pending' AND bill_on <= %s", [run.target_date])
        (left_due,) = cursor.fetchone()
    want = expected_total(accounts=accounts, lines=lines)
    if count != accounts or distinct_accounts != accounts:
        problems.append(f"{count:,} invoices for {distinct_accounts:,} accounts, expected {accounts:,}")
    if posted != count or unnumbered:
        problems.append(f"{posted:,} of {count:,} invoices posted, {unnumbered:,} without a number")
    if line_count != accounts * lines:
        problems.append(f"{line_count:,} lines, expected {accounts * lines:,}")
    if total != want or line_total != want or Decimal(run.totals.get("EUR", "0")) != want:
        problems.append(f"totals: invoices {total}, lines {line_total}, run {run.totals}, expected {want}")
    if mismatched:
        problems.append(f"{mismatched:,} invoices whose totals are not the sum of their lines")
    if balance_off:
        problems.append(f"{balance_off:,} invoices whose balance is not their total, unpaid")
    if distinct_seq != count or (count and high - low + 1 != count):
        problems.append(f"numbers: {distinct_seq:,} distinct from {low} to {high} for {count:,} invoices (gap or duplicate)")
    for series in NumberSeries.objects.filter(document_type="invoice"):
        taken = series.next_number - series_before.get(series.pk, 1)
        if taken and (taken != count or low != series_before.get(series.pk, 1)):
            problems.append(f"series {series}: {taken:,} numbers taken from {series_before.get(series.pk, 1)}, "
                            f"the run's invoices hold {low}…{high}")
    if left_due:
        problems.append(f"{left_due:,} schedule entries still due")
    if run.status != "completed" or run.accounts_failed or run.accounts_skipped:
        problems.append(f"run {run.status}: {run.accounts_failed} failed, {run.accounts_skipped} skipped")
    return problems


def copy_floor(*, run_id: int, audit_after: int, events_after: int, everything: bool) -> tuple[float, dict]:
    """Plain COPY of the rows the run wrote into scratch tables with the same indexes, unique and check
    constraints (`LIKE … INCLUDING ALL`). With `everything`, also the new versions of the schedule entries
    the run marked billed (an UPDATE writes a whole new row and its index entries) and the same foreign
    keys on every table (checked at commit, as in the run)."""
    from django.db import connection, transaction

    foreign_keys = everything
    sources = {
        "invoicing_invoice": f"SELECT * FROM invoicing_invoice WHERE run_id = {run_id} ORDER BY id",
        "invoicing_invoiceline": "SELECT l.* FROM invoicing_invoiceline l JOIN invoicing_invoice i ON i.id = l.invoice_id "
                                 f"WHERE i.run_id = {run_id} ORDER BY l.id",
        "billing_site_auditlog": f"SELECT * FROM billing_site_auditlog WHERE id > {audit_after} ORDER BY id",
        "billing_site_event": f"SELECT * FROM billing_site_event WHERE id > {events_after} ORDER BY id",
    }
    if everything:
        sources["contracts_scheduleentry"] = (
            "SELECT * FROM contracts_scheduleentry WHERE id IN (SELECT l.schedule_entry_id FROM invoicing_invoiceline l "
            f"JOIN invoicing_invoice i ON i.id = l.invoice_id WHERE i.run_id = {run_id}) ORDER BY id")
    data, counts = {}, {}
    with connection.cursor() as cursor:
        for table, query in sources.items():
            buffer = io.BytesIO()
            with cursor.cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
                for block in copy:
                    buffer.write(block)
            data[table] = buffer.getvalue()
            counts[table] = data[table].count(b"\n")
        scratch = {table: f"floor_{table}" for table in sources}
        for table, copy_table in scratch.items():
            cursor.execute(f"DROP TABLE IF EXISTS {copy_table} CASCADE")
            cursor.execute(f"CREATE TABLE {copy_table} (LIKE {table} INCLUDING ALL)")
        for table, copy_table in scratch.items() if foreign_keys else ():
            cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
                           [table])
            for name, definition in cursor.fetchall():
                for original, replacement in scratch.items():
                    definition = definition.replace(f"REFERENCES {original}(", f"REFERENCES {replacement}(")
                cursor.execute(f'ALTER TABLE {copy_table} ADD CONSTRAINT "{("floor_" + name)[:63]}" {definition}')
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, copy_table in scratch.items():
            with cursor.cursor.copy(f"COPY {copy_table} FROM STDIN") as copy:
                copy.write(data[table])
    elapsed = time.perf_counter() - start
    with connection.cursor() as cursor:
        for copy_table in reversed(list(scratch.values())):
            cursor.execute(f"DROP TABLE IF EXISTS {copy_table} CASCADE")
    return elapsed, counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (one prefork worker with this concurrency)")
    parser.add_argument("--chunk-size", type=int, default=500, help="accounts per chunk task")
    parser.add_argument("--group-size", type=int, default=None,
                        help="accounts per transaction (the workers' INVOICING_ACCOUNTS_PER_TRANSACTION; default: the setting)")
    parser.add_argument("--no-floor", action="store_true", help="skip the COPY floor")
    args = parser.parse_args()

    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        sys.exit("Run the benchmark on Redis: CELERY_BROKER_URL=redis://127.0.0.1:6379/<db>")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        sys.exit("Run the benchmark on PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_bench")
    call_command("migrate", verbosity=0)
    from bench._seed import seed_accounts_and_subscriptions
    from billing_site.celery import app
    from billing_site.models import AuditLog, Event
    from invoicing.models import InvoiceRun, NumberSeries
    from invoicing.services.runs import invoice_run_create

    # A fresh target each time: bench data of earlier runs is already billed.
    target = dt.date(2025, 1, 1)
    last = InvoiceRun.objects.order_by("-target_date").values_list("target_date", flat=True).first()
    if last:
        target = dt.date(last.year + (last.month == 12), last.month % 12 + 1, 1)
    t0 = time.perf_counter()
    seed_accounts_and_subscriptions(accounts=args.accounts, lines=args.lines, start=target)
    print(f"seeded {args.accounts:,} accounts × {args.lines} lines in {time.perf_counter() - t0:.1f} s (not timed)")
    series_before = dict(NumberSeries.objects.filter(document_type="invoice").values_list("pk", "next_number"))
    audit_after = AuditLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    events_after = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    connections.close_all()

    app.control.purge()  # leftovers of an interrupted earlier run on this broker
    log_path = ROOT / "var" / "bench-invoice-run-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    proc = start_workers(processes=args.workers, group_size=args.group_size, log_path=log_path)
    try:
        wait_ready(app, proc)
        print(f"celery worker up (pid {proc.pid}, {args.workers} processes, broker {os.environ['CELERY_BROKER_URL']}); "
              f"load average before the run {loadavg()}")
        cpu_before = tree_cpu_seconds(proc.pid)
        start = time.perf_counter()
        run = invoice_run_create(actor=None, target_date=target, auto_post=True, send_documents=False, chunk_size=args.chunk_size)
        while True:
            time.sleep(0.1)
            status, finished = InvoiceRun.objects.filter(pk=run.pk).values_list("status", "finished_at").get()
            if finished is not None:
                break
            if proc.poll() is not None:
                sys.exit(f"the worker died during the run (exit {proc.returncode}); see {log_path}")
        elapsed = time.perf_counter() - start
        load_after = loadavg()
        worker_cpu = tree_cpu_seconds(proc.pid) - cpu_before
    finally:
        stop_workers(proc)
    connections.close_all()

    run.refresh_from_db()
    print(f"run {run.pk}: {run.status}, {run.accounts_done:,} accounts, {run.invoices_count:,} invoices, "
          f"{run.lines_count:,} lines, {run.accounts_failed} failed, totals {run.totals}")
    problems = verify(run=run, accounts=args.accounts, lines=args.lines, series_before=series_before)
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    if not problems:
        print("checked: one posted invoice per account, every line, totals to the cent, numbers unique and gap-free, nothing left due")
    print(f"run time {elapsed:.1f} s through {args.workers} Celery worker processes on Redis "
          f"({run.invoices_count / elapsed:,.0f} invoices/s, {run.lines_count / elapsed:,.0f} lines/s); "
          f"load average at the end {load_after}; the workers' processes used {worker_cpu:.1f} s of CPU")
    if not args.no_floor:
        # The floor of the issue: the same rows, the same indexes (and unique and check constraints).
        floor, counts = copy_floor(run_id=run.pk, audit_after=audit_after, events_after=events_after, everything=False)
        rows = ", ".join(f"{n:,} {table}" for table, n in counts.items())
        print(f"COPY floor {floor:.1f} s ({rows}; same indexes, unique and check constraints); load average {loadavg()}")
        full, counts = copy_floor(run_id=run.pk, audit_after=audit_after, events_after=events_after, everything=True)
        print(f"COPY of everything the run writes {full:.1f} s (the same, plus {counts['contracts_scheduleentry']:,} new versions "
              f"of the billed schedule entries, and every foreign key checked); load average {loadavg()}")
        print(f"ratio run / floor {elapsed / floor:.2f} (target ≤ {TARGET_RATIO:g}); run / everything by COPY {elapsed / full:.2f}")
    print(f"target run ≤ {TARGET_SECONDS:g} s: {'met' if elapsed <= TARGET_SECONDS else 'NOT met'}"
          + ("" if args.no_floor else f"; target ≤ {TARGET_RATIO:g} × floor: {'met' if elapsed <= TARGET_RATIO * floor else 'NOT met'}"))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
