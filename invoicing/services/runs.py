"""Invoice runs: create, split into chunks, bill chunk by chunk (any worker), finish, cancel, resume.

A chunk is claimed with a conditional UPDATE and processed in groups of accounts. Each group is
one transaction that locks its account rows (SKIP LOCKED: an account another run is billing right
now is left to that run), loads what is due, builds and writes the documents, and advances the
chunk's `position` — so a killed worker's chunk resumes where the last commit left it, and even a
full re-run finds nothing due twice. If a group fails in the database (a concurrent change of the
schedule, a unique constraint), it is retried one account per transaction so only the faulty
account is reported.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import DomainError, InvalidTransition, ValidationFailed
from billing_site.events import event_record, fields_of
from contracts.models import ScheduleEntry
from contracts.services import schedules_extend_through
from customers.models import Account
from invoicing.models import InvoiceRun, InvoiceRunChunk, InvoiceRunError
from invoicing.schedule import due_entries_q
from invoicing.services.billing import ReferenceCache, build_account, is_postgresql, load_context
from invoicing.services.writing import ScheduleMoved, write_bills

log = logging.getLogger(__name__)

Chunk = InvoiceRunChunk.Status
RunStatus = InvoiceRun.Status
DEFAULT_CHUNK_SIZE = 500
# Accounts written per transaction. Each account is still all-or-nothing: a group that fails in
# the database is retried one account per transaction.
ACCOUNTS_PER_TRANSACTION = settings.INVOICING_ACCOUNTS_PER_TRANSACTION
FILTER_KEYS = ("account_ids", "legal_entity_id", "currency", "billing_days")


def filters_clean(filters: dict | None) -> dict:
    """Keep the known filters, as JSON-friendly values; refuse anything else."""
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "", [], ())}
    unknown = set(filters) - set(FILTER_KEYS)
    if unknown:
        raise ValidationFailed(fields={k: [_("Unknown filter.")] for k in sorted(unknown)})
    out: dict[str, Any] = {}
    try:
        if "account_ids" in filters:
            out["account_ids"] = sorted({int(a) for a in filters["account_ids"]})
        if "legal_entity_id" in filters:
            out["legal_entity_id"] = int(filters["legal_entity_id"])
        if "billing_days" in filters:
            days = sorted({int(d) for d in filters["billing_days"]})
            if any(not 1 <= d <= 31 for d in days):
                raise ValidationFailed(fields={"billing_days": [_("Billing days are between 1 and 31.")]})
            out["billing_days"] = days
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(fields={"filters": [_("Filters must be whole numbers.")]}) from exc
    if "currency" in filters:
        currency = str(filters["currency"]).upper()
        if currency not in settings.CURRENCIES:
            raise ValidationFailed(fields={"currency": [_("“%(value)s” is not a supported currency.") % {"value": currency}]})
        out["currency"] = currency
    return out


def invoice_run_create(
    *,
    actor,
    target_date: dt.date,
    invoice_date: dt.date | None = None,
    filters: dict | None = None,
    auto_post: bool = False,
    send_documents: bool = True,
    schedule=None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    start: bool = True,
) -> InvoiceRun:
    """Queue a run; with `start`, its first task is sent after commit."""
    if target_date is None:
        raise ValidationFailed(fields={"target_date": [_("A target date is required.")]})
    invoice_date = invoice_date or target_date
    # A run for 9999-12-31 would bill every period until then (and overflow the due date): runs look
    # at most INVOICE_RUN_HORIZON_DAYS ahead.
    horizon = clock.today() + dt.timedelta(days=settings.INVOICE_RUN_HORIZON_DAYS)
    for name, value in (("target_date", target_date), ("invoice_date", invoice_date)):
        if value > horizon:
            raise ValidationFailed(fields={name: [_("At most %(days)s days ahead (until %(last)s).") % {
                "days": settings.INVOICE_RUN_HORIZON_DAYS, "last": horizon.isoformat()}]})
    if not 1 <= chunk_size <= 10_000:
        raise ValidationFailed(fields={"chunk_size": [_("Between 1 and 10,000 accounts per chunk.")]})
    with transaction.atomic():
        run = InvoiceRun.objects.create(
            target_date=target_date, invoice_date=invoice_date, filters=filters_clean(filters), auto_post=auto_post,
            send_documents=send_documents, schedule=schedule, chunk_size=chunk_size,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(obj=run, action="created", actor=actor, actor_label="" if actor else "scheduler", to_state=run.status)
        if start:
            from invoicing import tasks

            transaction.on_commit(lambda: tasks.invoice_run_start.delay(run.pk))
    return run


def invoice_run_prepare(*, run_id: int, now: dt.datetime | None = None) -> InvoiceRun | None:
    """queued → running: list the accounts with something due and cut them into chunks."""
    now = now or clock.now()
    run = InvoiceRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).only("target_date").first()
    if run is None:
        return None
    # What the daily job has not scheduled yet (it did not run, or the target date is far ahead):
    # evergreen and migrated contracts are scheduled a few months ahead only.
    schedules_extend_through(target_date=run.target_date)
    with transaction.atomic():
        run = InvoiceRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.QUEUED:
            return None  # already prepared (a retried task) or cancelled
        account_ids = list(
            ScheduleEntry.objects.filter(due_entries_q(target_date=run.target_date, filters=run.filters))
            .order_by("account_id").values_list("account_id", flat=True).distinct()
        )
        size = run.chunk_size or DEFAULT_CHUNK_SIZE
        chunks = [
            InvoiceRunChunk(run=run, index=i, account_ids=account_ids[start:start + size])
            for i, start in enumerate(range(0, len(account_ids), size))
        ]
        InvoiceRunChunk.objects.bulk_create(chunks)
        run.status = RunStatus.RUNNING
        run.accounts_total = len(account_ids)
        run.chunks_total = len(chunks)
        run.started_at = now
        run.save(update_fields=["status", "accounts_total", "chunks_total", "started_at"])
        audit_record(obj=run, action="started", from_state=RunStatus.QUEUED, to_state=run.status,
                     actor_label="worker", data={"accounts": len(account_ids), "chunks": len(chunks)})
    if not chunks:
        invoice_run_finalize(run_id=run.pk, now=now)
    return run


def invoice_run_process_chunk(
    *, run_id: int, index: int, now: dt.datetime | None = None, group_size: int | None = None
) -> InvoiceRunChunk | None:
    """Bill one chunk from where it stopped; safe to run twice, even at the same time."""
    now = now or clock.now()
    group_size = group_size or ACCOUNTS_PER_TRANSACTION
    claimed = InvoiceRunChunk.objects.filter(
        run_id=run_id, index=index, status__in=[Chunk.PENDING, Chunk.RUNNING, Chunk.FAILED]
    ).update(status=Chunk.RUNNING, started_at=now, heartbeat_at=clock.now())
    if not claimed:
        return None
    chunk = InvoiceRunChunk.objects.get(run_id=run_id, index=index)
    InvoiceRunChunk.objects.filter(pk=chunk.pk).update(attempts=chunk.attempts + 1)
    run = InvoiceRun.objects.get(pk=run_id)
    refs = ReferenceCache()
    account_ids = chunk.account_ids
    start = chunk.position
    groups_done = 0
    try:
        while start < len(account_ids):
            if groups_done % 10 == 0 and InvoiceRun.objects.filter(pk=run_id, status=RunStatus.CANCELLED).exists():
                InvoiceRunChunk.objects.filter(pk=chunk.pk).update(status=Chunk.CANCELLED, finished_at=clock.now())
                invoice_run_finalize(run_id=run_id)
                return chunk
            group = account_ids[start:start + group_size]
            _bill_group(run=run, chunk_id=chunk.pk, accounts=group, end=start + len(group), refs=refs, now=now)
            start += len(group)
            groups_done += 1
    except Exception as exc:
        log.exception("invoice run %s chunk %s failed", run_id, index)
        InvoiceRunChunk.objects.filter(pk=chunk.pk).update(status=Chunk.FAILED, error=str(exc)[:2000], finished_at=clock.now())
        raise
    InvoiceRunChunk.objects.filter(pk=chunk.pk, status=Chunk.RUNNING).update(status=Chunk.DONE, finished_at=clock.now())
    invoice_run_finalize(run_id=run_id)
    return chunk


def _bill_group(*, run: InvoiceRun, chunk_id: int, accounts: list[int], end: int, refs, now) -> None:
    try:
        with transaction.atomic():
            _bill_group_in_transaction(run=run, chunk_id=chunk_id, accounts=accounts, end=end, refs=refs, now=now)
        return
    except (ScheduleMoved, IntegrityError, DatabaseError, DomainError) as exc:
        if len(accounts) == 1:
            _record_failure(run=run, chunk_id=chunk_id, account_id=accounts[0], end=end, message=_reason(exc))
            return
    # Retry one account per transaction so only the faulty account is reported.
    for offset, account_id in enumerate(accounts):
        _bill_group(run=run, chunk_id=chunk_id, accounts=[account_id], end=end - len(accounts) + offset + 1, refs=refs, now=now)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ScheduleMoved):
        return str(exc.message)
    if isinstance(exc, IntegrityError):
        return _("Already billed by another run (the database refused a second invoice line for the same period).")
    if isinstance(exc, DomainError):
        return str(exc.message)
    return _("Database error: %(error)s") % {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}


def _lock_accounts(account_ids: list[int]) -> list[int]:
    """Lock the accounts' rows; those another run holds are skipped (it is billing them now)."""
    if not is_postgresql():
        return list(account_ids)  # SQLite: one writer at a time already
    # One array parameter for the group's ids (hundreds of placeholders cost more to build than the lock).
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Account._meta.db_table} WHERE id = ANY(%s::bigint[]) FOR UPDATE SKIP LOCKED",
            ["{" + ",".join(str(int(a)) for a in account_ids) + "}"],
        )
        locked = {row[0] for row in cursor.fetchall()}
    return [a for a in account_ids if a in locked]


SKIPPED_REASON = _("Skipped: another run or a cancel & rebill was billing this account at the same moment. "
                   "What is still due is billed by the next run.")


def _bill_group_in_transaction(*, run, chunk_id, accounts, end, refs, now) -> None:
    locked = _lock_accounts(accounts)
    skipped = [a for a in accounts if a not in set(locked)]
    ctx = load_context(account_ids=locked, target_date=run.target_date, filters=run.filters, refs=refs)
    bills = [build_account(ctx, account_id) for account_id in locked]
    failed = [b for b in bills if b.error]
    result = write_bills(
        bills=[b for b in bills if not b.error], ctx=ctx, run_id=run.pk, auto_post=run.auto_post,
        invoice_date=run.invoice_date, now=now, actor=None, actor_label=_("invoice run %(id)s") % {"id": run.pk},
    )
    InvoiceRunError.objects.bulk_create(
        [InvoiceRunError(run_id=run.pk, account_id=b.account_id, message=b.error) for b in failed]
        + [InvoiceRunError(run_id=run.pk, account_id=a, message=str(SKIPPED_REASON)) for a in skipped]
    )
    chunk = InvoiceRunChunk.objects.select_for_update().get(pk=chunk_id)
    chunk.position = max(chunk.position, end)
    chunk.accounts_failed += len(failed)
    chunk.accounts_skipped += len(skipped)
    chunk.heartbeat_at = clock.now()
    chunk.invoices_count += len(result.invoice_ids)
    chunk.credit_notes_count += len(result.credit_note_ids)
    chunk.lines_count += result.lines
    totals = defaultdict(Decimal, {k: Decimal(v) for k, v in chunk.totals.items()})
    for currency, amount in result.totals.items():
        totals[currency] += amount
    chunk.totals = {k: str(v) for k, v in totals.items()}
    chunk.save(update_fields=["position", "accounts_failed", "accounts_skipped", "invoices_count", "credit_notes_count",
                              "lines_count", "totals", "heartbeat_at"])
    if run.auto_post and (result.posted_invoice_ids or result.posted_credit_note_ids):
        from invoicing.services.delivery import documents_deliver_later, documents_render_later

        # Posted documents get their PDF on the workers, in batches, whether or not the run sends them.
        later = documents_deliver_later if run.send_documents else documents_render_later
        later(invoice_ids=result.posted_invoice_ids, credit_note_ids=result.posted_credit_note_ids)


def _record_failure(*, run, chunk_id, account_id, end, message) -> None:
    with transaction.atomic():
        InvoiceRunError.objects.create(run_id=run.pk, account_id=account_id, message=message)
        chunk = InvoiceRunChunk.objects.select_for_update().get(pk=chunk_id)
        chunk.position = max(chunk.position, end)
        chunk.accounts_failed += 1
        chunk.heartbeat_at = clock.now()
        chunk.save(update_fields=["position", "accounts_failed", "heartbeat_at"])


def run_counts(run_id: int) -> dict:
    """The run's live counts: sums over its chunks."""
    counts: dict[str, Any] = {"accounts_done": 0, "accounts_failed": 0, "accounts_skipped": 0, "invoices_count": 0, "credit_notes_count": 0,
              "lines_count": 0}
    totals: defaultdict[str, Decimal] = defaultdict(Decimal)
    statuses = []
    for chunk in InvoiceRunChunk.objects.filter(run_id=run_id).values(
        "position", "accounts_failed", "accounts_skipped", "invoices_count", "credit_notes_count", "lines_count", "totals", "status"
    ):
        # Skipped accounts were looked at but not billed: they are not "done".
        counts["accounts_done"] += chunk["position"] - chunk["accounts_skipped"]
        for key in ("accounts_failed", "accounts_skipped", "invoices_count", "credit_notes_count", "lines_count"):
            counts[key] += chunk[key]
        for currency, amount in (chunk["totals"] or {}).items():
            totals[currency] += Decimal(amount)
        statuses.append(chunk["status"])
    counts["totals"] = {k: str(v) for k, v in sorted(totals.items())}
    counts["statuses"] = statuses
    return counts


def invoice_run_finalize(*, run_id: int, now: dt.datetime | None = None) -> InvoiceRun | None:
    """When no chunk is left to do: store the counts and set the final status (once)."""
    if InvoiceRunChunk.objects.filter(run_id=run_id, status__in=[Chunk.PENDING, Chunk.RUNNING]).exists():
        return None
    now = now or clock.now()
    with transaction.atomic():
        run = InvoiceRun.objects.select_for_update().get(pk=run_id)
        if run.status not in (RunStatus.RUNNING, RunStatus.CANCELLED) or run.finished_at is not None:
            return run
        counts = run_counts(run_id)
        before = run.status
        if run.status != RunStatus.CANCELLED:
            if Chunk.FAILED in counts["statuses"]:
                run.status = RunStatus.FAILED
            elif counts["accounts_failed"] or counts["accounts_skipped"]:
                run.status = RunStatus.COMPLETED_WITH_ERRORS
            else:
                run.status = RunStatus.COMPLETED
        for key in ("accounts_done", "accounts_failed", "accounts_skipped", "invoices_count", "credit_notes_count", "lines_count"):
            setattr(run, key, counts[key])
        run.totals = counts["totals"]
        run.finished_at = now
        run.save()
        audit_record(obj=run, action="finished", from_state=before, to_state=run.status, actor_label="worker",
                     data={k: v for k, v in counts.items() if k != "statuses"})
        event_record(type="invoice_run.completed", account_id=None, payload=fields_of(
            run, "id", "status", "target_date", "accounts_done", "accounts_failed", "invoices_count", "credit_notes_count", "totals"))
    return run


def invoice_run_cancel(*, run: InvoiceRun, actor) -> InvoiceRun:
    """Stop a queued or running run: chunks stop at their next group; what was billed stays billed."""
    with transaction.atomic():
        run = InvoiceRun.objects.select_for_update().get(pk=run.pk)
        if run.status not in InvoiceRun.ACTIVE:
            raise InvalidTransition(_("Only a queued or running run can be cancelled."))
        before = run.status
        run.status = RunStatus.CANCELLED
        run.save(update_fields=["status"])
        InvoiceRunChunk.objects.filter(run=run, status=Chunk.PENDING).update(status=Chunk.CANCELLED)
        audit_record(obj=run, action="cancelled", actor=actor, from_state=before, to_state=run.status)
    invoice_run_finalize(run_id=run.pk)
    run.refresh_from_db()
    return run


def invoice_run_resume(*, run: InvoiceRun, actor, dispatch: bool = True) -> list[int]:
    """Send the unfinished chunks of a run again (after a worker died); returns their indexes."""
    with transaction.atomic():
        run = InvoiceRun.objects.select_for_update().get(pk=run.pk)
        if run.status == RunStatus.FAILED:
            run.status = RunStatus.RUNNING
            run.finished_at = None
            run.save(update_fields=["status", "finished_at"])
        elif run.status != RunStatus.RUNNING:
            raise InvalidTransition(_("Only a running or failed run can be resumed."))
        indexes = list(
            InvoiceRunChunk.objects.filter(run=run).exclude(status__in=[Chunk.DONE, Chunk.CANCELLED]).values_list("index", flat=True)
        )
        InvoiceRunChunk.objects.filter(run=run, index__in=indexes).update(status=Chunk.PENDING)
        audit_record(obj=run, action="resumed", actor=actor, data={"chunks": indexes})
        if dispatch:
            from invoicing import tasks

            transaction.on_commit(lambda: [tasks.invoice_run_chunk.delay(run.pk, i) for i in indexes])
    return indexes


def invoice_run_execute(*, run: InvoiceRun, now: dt.datetime | None = None, group_size: int | None = None) -> InvoiceRun:
    """Run every step in this process (tests, the simulation, `manage.py invoice_run --sync`)."""
    invoice_run_prepare(run_id=run.pk, now=now)
    for index in InvoiceRunChunk.objects.filter(run=run).order_by("index").values_list("index", flat=True):
        invoice_run_process_chunk(run_id=run.pk, index=index, now=now, group_size=group_size)
    invoice_run_finalize(run_id=run.pk, now=now)
    run.refresh_from_db()
    return run


def invoice_runs_recover(*, now: dt.datetime | None = None, dispatch: bool = True) -> list[tuple[int, int]]:
    """Beat: send again the chunks of running runs whose worker died (no heartbeat for
    INVOICE_RUN_STALE_SECONDS), so a killed worker's run finishes with no person acting.

    Each stale chunk is claimed by a conditional UPDATE of its heartbeat (two beats, or a beat and a
    person pressing Resume, send it once). Sending a chunk whose worker is only slow is safe: the
    accounts are locked per group (SKIP LOCKED) and billed periods are claimed conditionally."""
    now = now or clock.now()
    cutoff = now - dt.timedelta(seconds=settings.INVOICE_RUN_STALE_SECONDS)
    stale = (
        InvoiceRunChunk.objects.filter(run__status=RunStatus.RUNNING, status__in=[Chunk.PENDING, Chunk.RUNNING])
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, run__started_at__lt=cutoff))
        .values_list("pk", "run_id", "index", "heartbeat_at")
    )
    recovered = []
    for pk, run_id, index, heartbeat in stale:
        with transaction.atomic():
            claimed = InvoiceRunChunk.objects.filter(pk=pk, heartbeat_at=heartbeat).update(heartbeat_at=now) if heartbeat else (
                InvoiceRunChunk.objects.filter(pk=pk, heartbeat_at__isnull=True).update(heartbeat_at=now))
            if not claimed:
                continue
            audit_record(obj=InvoiceRun(pk=run_id), action="chunk_recovered", actor_label="scheduler",
                         message=_("Chunk %(index)s had no sign of life since %(at)s; sent again.") % {
                             "index": index, "at": heartbeat.isoformat() if heartbeat else "-"},
                         data={"chunk": index})
            recovered.append((run_id, index))
            if dispatch:
                from invoicing import tasks

                transaction.on_commit(partial(tasks.invoice_run_chunk.delay, run_id, index))
    return recovered


def invoice_run_dispatch_chunks(*, run_id: int) -> list[int]:
    """The indexes of a prepared run's chunks still to do (the start task sends one task each)."""
    return list(
        InvoiceRunChunk.objects.filter(run_id=run_id, status=Chunk.PENDING).order_by("index").values_list("index", flat=True)
    )


def runs_active_q() -> Q:
    return Q(status__in=InvoiceRun.ACTIVE)
