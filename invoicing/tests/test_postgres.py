"""Exactly once and gapless numbering on PostgreSQL, with real threads and a killed process.

Run with: DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_invoicing DEBUG=1 .venv/bin/pytest invoicing/tests/test_postgres.py
"""

import datetime as dt
import os
import subprocess
import sys
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Count

from contracts.models import ScheduleEntry
from invoicing import services
from invoicing.models import Invoice, InvoiceLine, InvoiceRun
from invoicing.tests.factories import AccountFactory, activate, make_catalog

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql", reason="needs PostgreSQL"),
]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def accounts_with_contracts():
    catalog = make_catalog()
    product = catalog.product("seat", price="1200.00", frequency=1)
    accounts = []
    for _ in range(12):
        account = AccountFactory()
        activate(catalog=catalog, products=[(product, "1")], account=account, start=date(2025, 1, 1))
        accounts.append(account)
    return catalog, product, accounts


def in_thread(fn, results, key):
    def target():
        try:
            results[key] = fn()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            results[key] = exc
        finally:
            connections.close_all()

    return threading.Thread(target=target)


def assert_billed_exactly_once(expected_entries: int):
    keys = list(InvoiceLine.objects.exclude(billing_key=None).values_list("billing_key", flat=True))
    assert len(keys) == len(set(keys)) == expected_entries
    assert ScheduleEntry.objects.filter(status="billed").count() == expected_entries
    for invoice in Invoice.objects.all():
        # No half-built invoice: the stored totals are the sums of its lines.
        lines = list(invoice.lines.values_list("net_amount", "tax_amount"))
        assert lines, f"invoice {invoice.pk} has no lines"
        assert invoice.subtotal_amount == sum(n for n, _t in lines)
        assert invoice.tax_amount == sum(t for _n, t in lines)


def test_two_runs_for_the_same_date_at_once_bill_each_period_once(accounts_with_contracts):
    target = date(2025, 3, 1)
    runs = [services.invoice_run_create(actor=None, target_date=target, auto_post=True, send_documents=False, start=False, chunk_size=4) for _ in range(2)]
    barrier = threading.Barrier(2)
    results = {}

    def execute(run):
        def go():
            barrier.wait()
            return services.invoice_run_execute(run=run, group_size=1)
        return go

    threads = [in_thread(execute(r), results, r.pk) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not [r for r in results.values() if isinstance(r, Exception)], results
    assert_billed_exactly_once(12 * 3)
    per_account = dict(Invoice.objects.values_list("account_id").annotate(n=Count("id")))
    assert len(per_account) == 12 and set(per_account.values()) == {1}
    numbers = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert numbers == list(range(1, 13))
    # An account the other run held at that moment is not reported done: it is counted as skipped,
    # with its reason, and the run says it completed with errors.
    finished = list(InvoiceRun.objects.filter(pk__in=[r.pk for r in runs]))
    assert sum(r.invoices_count for r in finished) == 12
    for r in finished:
        assert r.accounts_done + r.accounts_skipped == 12
        assert r.errors.count() == r.accounts_skipped + r.accounts_failed
        assert r.status == ("completed_with_errors" if r.accounts_skipped or r.accounts_failed else "completed")
    # Re-running a finished run's date bills nothing.
    again = services.invoice_run_execute(run=services.invoice_run_create(actor=None, target_date=target, auto_post=True, start=False))
    assert (again.invoices_count, again.accounts_total) == (0, 0)


KILL_AFTER_THIRD_LINES_WRITE = """
import os, signal, sys
import django
django.setup()
from django.core.management import call_command
from invoicing.services import writing

original, calls = writing._insert_invoice_lines, []


def insert_then_die(rows):
    original(rows)
    calls.append(1)
    if len(calls) == 3:
        os.kill(os.getpid(), signal.SIGKILL)


writing._insert_invoice_lines = insert_then_die
call_command("invoice_run", "--chunk", sys.argv[1])
"""


PAUSE_AFTER_FOURTH_LINES_WRITE = KILL_AFTER_THIRD_LINES_WRITE.replace("len(calls) == 3", "len(calls) == 4").replace(
    "os.kill(os.getpid(), signal.SIGKILL)", "signal.pause()  # mid-transaction, until the test kills it from outside"
)


def test_a_worker_killed_mid_run_leaves_no_half_invoice_and_the_retry_finishes(accounts_with_contracts):
    run = services.invoice_run_create(actor=None, target_date=date(2025, 3, 1), auto_post=True, send_documents=False, start=False, chunk_size=12)
    services.invoice_run_prepare(run_id=run.pk)
    env = dict(os.environ)
    db = connection.settings_dict
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env["DEBUG"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = "billing_site.settings"
    env["INVOICING_ACCOUNTS_PER_TRANSACTION"] = "2"
    # The 3rd group's transaction is killed (SIGKILL) after its lines are written, before commit: the
    # worker process is wrapped from outside, the billing code carries no crash hook.
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_THIRD_LINES_WRITE, f"{run.pk}:0"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    chunk = run.chunks.get()
    assert (chunk.status, chunk.position) == ("running", 4)  # two groups of two accounts committed
    assert Invoice.objects.count() == 4
    assert_billed_exactly_once(4 * 3)
    # The retried task resumes the chunk and finishes the run.
    services.invoice_run_process_chunk(run_id=run.pk, index=0)
    run.refresh_from_db()
    # The counts include the 4 invoices the killed attempt committed, not the rolled-back group.
    assert (run.status, run.accounts_done, run.invoices_count) == ("completed", 12, 12)
    assert Invoice.objects.count() == 12
    assert_billed_exactly_once(12 * 3)
    # Even running the whole chunk again from the start bills nothing.
    run.chunks.update(status="pending", position=0)
    services.invoice_run_process_chunk(run_id=run.pk, index=0)
    assert Invoice.objects.count() == 12


def test_a_worker_killed_from_outside_is_recovered_by_beat_with_no_person(accounts_with_contracts, celery_eager):
    import signal
    import time

    import time_machine

    from invoicing import tasks
    from invoicing.models import InvoiceRunChunk

    run = services.invoice_run_create(actor=None, target_date=date(2025, 3, 1), auto_post=True, send_documents=False, start=False, chunk_size=12)
    services.invoice_run_prepare(run_id=run.pk)
    env = dict(os.environ)
    db = connection.settings_dict
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env["DEBUG"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = "billing_site.settings"
    env["INVOICING_ACCOUNTS_PER_TRANSACTION"] = "2"
    # The 4th group stops mid-transaction, after its lines are written…
    worker = subprocess.Popen([sys.executable, "-c", PAUSE_AFTER_FOURTH_LINES_WRITE, f"{run.pk}:0"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while InvoiceRunChunk.objects.get(run=run).position < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)  # …holding its locks and uncommitted lines,
    worker.send_signal(signal.SIGKILL)  # when it is killed from outside.
    assert worker.wait(timeout=30) == -9
    chunk = InvoiceRunChunk.objects.get(run=run)
    assert (chunk.status, chunk.position) == ("running", 6)
    assert Invoice.objects.count() == 6
    # No person acts: beat's recovery task finds the silent chunk and a worker finishes it.
    with time_machine.travel(chunk.heartbeat_at + dt.timedelta(seconds=settings.INVOICE_RUN_STALE_SECONDS + 1), tick=False):
        assert tasks.invoice_runs_recover() == 1
    run.refresh_from_db()
    assert (run.status, run.accounts_done, run.invoices_count) == ("completed", 12, 12)
    assert_billed_exactly_once(12 * 3)


def _draft(account, entity, n):
    invoice = Invoice.objects.create(account=account, legal_entity=entity, currency="EUR", total_amount=Decimal("10"),
                                     subtotal_amount=Decimal("10"), payment_terms_days=30)
    InvoiceLine.objects.create(invoice=invoice, source="manual", description=f"Line {n}", quantity=1, unit_price=10,
                               net_amount=Decimal("10"), total_amount=Decimal("10"))
    return invoice


def test_two_threads_posting_200_invoices_each_get_unique_consecutive_numbers():
    catalog = make_catalog()
    account = AccountFactory()
    drafts = [_draft(account, catalog.entity, n) for n in range(400)]
    halves = [drafts[:200], drafts[200:]]
    results = {}

    def post_all(items):
        def go():
            for invoice in items:
                services.invoice_post(invoice=invoice, actor=None, today=date(2025, 1, 31))
            return len(items)
        return go

    threads = [in_thread(post_all(h), results, i) for i, h in enumerate(halves)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {0: 200, 1: 200}
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, 401))
    assert Invoice.objects.values("number").distinct().count() == 400


def test_the_database_refuses_changes_to_posted_invoices_and_their_lines(accounts_with_contracts):
    services.invoice_run_execute(run=services.invoice_run_create(actor=None, target_date=date(2025, 1, 1), auto_post=True, send_documents=False, start=False))
    invoice = Invoice.objects.order_by("id").first()
    line = invoice.lines.get()
    for attempt in (
        lambda: Invoice.objects.filter(pk=invoice.pk).update(total_amount=Decimal("1")),
        lambda: Invoice.objects.filter(pk=invoice.pk).update(status="draft"),
        lambda: Invoice.objects.filter(pk=invoice.pk).delete(),
        lambda: InvoiceLine.objects.filter(pk=line.pk).update(net_amount=Decimal("1")),
        lambda: InvoiceLine.objects.filter(pk=line.pk).delete(),
        lambda: InvoiceLine.objects.create(invoice=invoice, source="manual", description="x", quantity=1, unit_price=1, net_amount=1, total_amount=1),
    ):
        with pytest.raises(DatabaseError) as err, transaction.atomic():
            attempt()
        assert "posted" in str(err.value)
    # What may change: the cancellation, the PDF, the sending, and the billing key (cancel & rebill).
    with transaction.atomic():
        InvoiceLine.objects.filter(pk=line.pk).update(billing_key=None)
        Invoice.objects.filter(pk=invoice.pk).update(status="cancelled", pdf="x.pdf")


def test_a_posting_run_copies_each_invoice_once_posted_with_its_event_and_audit_row(accounts_with_contracts):
    from billing_site.events import fields_of
    from billing_site.models import AuditLog, Event
    from invoicing.services.writing import INVOICE_EVENT_FIELDS

    updates_before = invoice_row_updates()
    run = services.invoice_run_execute(run=services.invoice_run_create(
        actor=None, target_date=date(2025, 1, 1), invoice_date=date(2025, 1, 2), auto_post=True, send_documents=False, start=False))
    invoices = list(Invoice.objects.filter(run=run).order_by("sequence"))
    assert [i.sequence for i in invoices] == list(range(1, 13))
    assert {(i.status, i.invoice_date, i.due_date, i.open_amount, i.payment_status, i.total_amount) for i in invoices} == {
        ("posted", date(2025, 1, 2), date(2025, 2, 1), Decimal("120.00"), "unpaid", Decimal("120.00"))}
    assert all(i.posted_at is not None and i.number == f"{catalog_prefix(i)}{i.sequence:06d}" for i in invoices)
    # Each invoice's event carries what the stored invoice says, as `fields_of` would write it.
    events = {e.payload["id"]: e for e in Event.objects.filter(type="invoice.posted")}
    for invoice in invoices:
        assert events[invoice.pk].payload == fields_of(invoice, *INVOICE_EVENT_FIELDS)
        assert events[invoice.pk].account_id == invoice.account_id
    audit = {a.object_id: a for a in AuditLog.objects.filter(object_type="invoicing.invoice", action="posted")}
    assert {(audit[str(i.pk)].object_repr, audit[str(i.pk)].to_state) for i in invoices} == {(i.number, "posted") for i in invoices}
    # Written once, already posted: no invoice row was updated after its insert.
    assert invoice_row_updates() == updates_before


def invoice_row_updates() -> int:
    """Rows of invoicing_invoice updated so far (this backend's pending statistics flushed first)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'invoicing_invoice'")
        return cursor.fetchone()[0]


def catalog_prefix(invoice) -> str:
    from invoicing.models import NumberSeries

    return NumberSeries.objects.get(legal_entity_id=invoice.legal_entity_id, document_type="invoice").prefix
