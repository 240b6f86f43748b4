"""Recovery without a person: a chunk whose worker died (stale heartbeat) is sent again by beat and
the run completes; a run that skipped accounts another run was billing says so."""

import datetime as dt
from datetime import date

import pytest
import time_machine

from billing_site.celery import app as celery_app
from invoicing import services, tasks
from invoicing.models import Invoice, InvoiceRun, InvoiceRunChunk
from invoicing.services import runs as run_services
from invoicing.tests.factories import AccountFactory, activate

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def ten_accounts(catalog, monthly):
    for _ in range(10):
        activate(catalog=catalog, products=[(monthly, "1")], account=AccountFactory(), start=date(2025, 1, 1))


def _dead_worker_run():
    """A run whose chunk 0 a worker claimed, billed 2 accounts of, then died (SIGKILL: no cleanup)."""
    run = services.invoice_run_create(actor=None, target_date=date(2025, 1, 1), auto_post=True, send_documents=False,
                                      start=False, chunk_size=5)
    run_services.invoice_run_prepare(run_id=run.pk, now=NOW)
    run_services.invoice_run_process_chunk(run_id=run.pk, index=1, now=NOW)
    chunk = InvoiceRunChunk.objects.get(run=run, index=0)
    run_services._bill_group(run=run, chunk_id=chunk.pk, accounts=chunk.account_ids[:2], end=2,
                             refs=run_services.ReferenceCache(), now=NOW)
    InvoiceRunChunk.objects.filter(pk=chunk.pk).update(status="running", heartbeat_at=NOW)
    return run


def test_beat_completes_a_run_whose_worker_died(ten_accounts, celery_eager, django_capture_on_commit_callbacks):
    with time_machine.travel(NOW, tick=False):
        run = _dead_worker_run()
    assert Invoice.objects.count() == 7
    # Within the stale delay the chunk is presumed alive: beat leaves it alone.
    with time_machine.travel(NOW + dt.timedelta(seconds=60), tick=False):
        assert tasks.invoice_runs_recover() == 0
    with time_machine.travel(NOW + dt.timedelta(seconds=91), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert tasks.invoice_runs_recover() == 1
    run.refresh_from_db()
    assert (run.status, run.accounts_done, run.invoices_count, run.accounts_skipped) == ("completed", 10, 10, 0)
    assert Invoice.objects.filter(status="posted").count() == 10
    assert sorted(InvoiceRunChunk.objects.filter(run=run).values_list("status", flat=True)) == ["done", "done"]
    # A second beat finds nothing to do.
    with time_machine.travel(NOW + dt.timedelta(seconds=300), tick=False):
        assert tasks.invoice_runs_recover() == 0


def test_two_beats_at_once_send_a_stale_chunk_once(ten_accounts):
    with time_machine.travel(NOW, tick=False):
        run = _dead_worker_run()
    later = NOW + dt.timedelta(seconds=200)
    first = run_services.invoice_runs_recover(now=later, dispatch=False)
    second = run_services.invoice_runs_recover(now=later, dispatch=False)
    assert (first, second) == ([(run.pk, 0)], [])


def test_recovery_is_on_the_beat_schedule():
    entry = celery_app.conf.beat_schedule["invoicing-recover-runs"]
    assert (entry["task"], entry["schedule"]) == ("invoicing.tasks.invoice_runs_recover", 30.0)


def test_accounts_another_run_held_are_reported_as_skipped(ten_accounts, monkeypatch):
    held = []

    def lock_all_but_two(account_ids):
        held.extend(account_ids[:2])
        return list(account_ids[2:])

    monkeypatch.setattr(run_services, "_lock_accounts", lock_all_but_two)
    run = services.invoice_run_create(actor=None, target_date=date(2025, 1, 1), auto_post=True, send_documents=False,
                                      start=False, chunk_size=10)
    run = services.invoice_run_execute(run=run)
    assert (run.status, run.accounts_total, run.accounts_done, run.accounts_skipped, run.invoices_count) == (
        InvoiceRun.Status.COMPLETED_WITH_ERRORS, 10, 8, 2, 8)
    reasons = {e.account_id: e.message for e in run.errors.all()}
    assert reasons == {a: ("Skipped: another run or a cancel & rebill was billing this account at the same moment. "
                           "What is still due is billed by the next run.") for a in held}
