"""Import writes: upload a file, dry-run it (nothing written), commit it (chunks with progress).

The dry run and the commit call the same `apply` of the kind, which calls the stages' services:
the dry run runs inside a transaction that is rolled back, so it checks exactly what the commit
will do (numbers, prices, schedules) without keeping any of it.

All or nothing (the default): the commit refuses a file whose dry run found an error, and writes
a file of up to `CHUNK_RECORDS` records in one transaction. A larger file is written in chunks of
that size, each its own transaction, so its progress is visible; if a row fails at commit time
(something changed since the dry run) its chunk is rolled back, the batch stops and says how far it
got, and importing the same file again resumes: what was written is "unchanged" by external id.
"Import the good rows" keeps every row that passes and lists the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import DomainError, InvalidTransition, ValidationFailed
from catalog.pricing import PricingError
from imports.kinds import (
    CREATE,
    ERROR,
    KINDS,
    UNCHANGED,
    UPDATE,
    Column,
    Context,
    RowError,
    convert,
    error_of,
)
from imports.models import ImportBatch
from imports.parsing import FileProblem, normalize_header, read_sheet

CHUNK_RECORDS = 500
# Accounts and contracts files with at least this many records take the bulk path (`imports.bulk`);
# both paths write the same rows (`tests/test_bulk_equivalence.py`). None: always row by row.
BULK_MIN_RECORDS: int | None = 1
PREVIEW_ROWS = 2000  # rows listed on the preview page; every error row is always kept
MAX_MAPPING_HEADERS = 200


@dataclass
class Report:
    counts: dict = field(default_factory=lambda: {CREATE: 0, UPDATE: 0, UNCHANGED: 0, ERROR: 0})
    totals: dict = field(default_factory=dict)
    results: list = field(default_factory=list)  # [row, key, action, column, message]
    errors: list = field(default_factory=list)   # {"row", "column", "message", "cells"}
    headers: list = field(default_factory=list)
    mapping: dict = field(default_factory=dict)
    unknown_headers: list = field(default_factory=list)
    rows_total: int = 0
    rows_done: int = 0
    file_error: str = ""

    def add_totals(self, totals: dict) -> None:
        for k, v in totals.items():
            self.totals[k] = self.totals.get(k, 0) + v


def columns_map(*, kind: str, headers: list[str], mapping: dict | None = None) -> tuple[dict[int, str], list[str]]:
    """Header position → field name (by English or French name, then the user's mapping); unknown headers."""
    spec = KINDS[kind]
    names: dict[str, str] = {}
    for column in spec.columns:
        for header_name in column.header_names():
            names.setdefault(header_name, column.name)
    mapping = mapping or {}
    out: dict[int, str] = {}
    unknown: list[str] = []
    for position, header in enumerate(headers):
        chosen = mapping.get(header)
        if chosen == "":  # the user chose to ignore this column
            continue
        name = chosen if chosen in {c.name for c in spec.columns} else names.get(normalize_header(header))
        if name is None:
            unknown.append(header)
        elif name not in out.values():
            out[position] = name
    return out, unknown


def import_upload(*, kind: str, filename: str, content: bytes, actor, mode: str = ImportBatch.Mode.ALL_OR_NOTHING) -> ImportBatch:
    """Store an uploaded file and run its dry run; refuses an unreadable file with a clear message."""
    if kind not in KINDS:
        raise ValidationFailed(fields={"kind": [_("Choose what the file holds.")]})
    try:
        sheet = read_sheet(content=content, filename=filename)
    except FileProblem as exc:
        raise ValidationFailed(fields={"file": [str(exc)]}) from exc
    batch = ImportBatch.objects.create(
        kind=kind, filename=filename[:200], content=content, mode=mode, rows_total=len(sheet.rows),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(obj=batch, action="uploaded", actor=actor, message=batch.filename)
    return import_preview(batch=batch, actor=actor)


def import_set_mapping(*, batch: ImportBatch, actor, mapping: dict) -> ImportBatch:
    """Map unknown headers to fields (or ignore them), then run the dry run again."""
    batch = _locked(batch, ImportBatch.Status.PREVIEWED)
    fields = {c.name for c in KINDS[batch.kind].columns}
    clean = {}
    for header, name in list(mapping.items())[:MAX_MAPPING_HEADERS]:
        if name and name not in fields:
            raise ValidationFailed(fields={"mapping": [_("“%(name)s” is not a column of this import.") % {"name": name}]})
        clean[str(header)[:200]] = name or ""
    batch.mapping = {**batch.mapping, **clean}
    batch.save(update_fields=["mapping"])
    return import_preview(batch=batch, actor=actor)


def import_preview(*, batch: ImportBatch, actor, today: dt.date | None = None) -> ImportBatch:
    """The dry run: every row through the stage's services in a transaction rolled back at the end."""
    report = run_rows(batch=batch, actor=actor, today=today or clock.today(), commit=False)
    _store(batch, report, status=ImportBatch.Status.PREVIEWED)
    return batch


def _locked(batch: ImportBatch, *states) -> ImportBatch:
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status not in states:
            raise InvalidTransition(_("This import is %(status)s.") % {"status": locked.get_status_display().lower()})
    return locked


def import_commit(*, batch: ImportBatch, actor, mode: str) -> ImportBatch:
    """Queue the commit of a previewed file (claimed once: a second click finds it queued)."""
    if mode not in ImportBatch.Mode.values:
        raise ValidationFailed(fields={"mode": [_("Unknown mode.")]})
    batch.refresh_from_db()
    if batch.status == ImportBatch.Status.PREVIEWED and mode == ImportBatch.Mode.ALL_OR_NOTHING and batch.counts.get(ERROR):
        raise ValidationFailed(
            _("%(count)s rows have errors: fix them and upload the file again, or import only the good rows.")
            % {"count": batch.counts[ERROR]}
        )
    claimed = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.PREVIEWED).update(
        status=ImportBatch.Status.QUEUED, mode=mode, committed_at=clock.now(), rows_done=0,
    )
    if not claimed:
        raise InvalidTransition(_("This import was already committed."))
    batch.refresh_from_db()
    audit_record(obj=batch, action="committed", actor=actor, message=mode)
    from imports.tasks import import_execute_task

    transaction.on_commit(lambda: import_execute_task.delay(batch.pk))
    return batch


def import_execute(*, batch_id: int, actor=None, today: dt.date | None = None) -> ImportBatch:
    """Write a queued batch (the worker's job). Safe to run twice: only a queued batch is claimed."""
    if not ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.QUEUED).update(status=ImportBatch.Status.RUNNING):
        return ImportBatch.objects.get(pk=batch_id)
    batch = ImportBatch.objects.get(pk=batch_id)
    actor = actor or batch.created_by

    def progress(done: int) -> None:
        ImportBatch.objects.filter(pk=batch_id).update(rows_done=done)

    try:
        report = run_rows(batch=batch, actor=actor, today=today or clock.today(), commit=True, on_progress=progress)
    except Exception as exc:
        ImportBatch.objects.filter(pk=batch_id).update(
            status=ImportBatch.Status.FAILED, message=str(exc)[:300], finished_at=clock.now())
        raise
    failed = report.file_error or (batch.mode == ImportBatch.Mode.ALL_OR_NOTHING and report.counts[ERROR])
    _store(batch, report, status=ImportBatch.Status.FAILED if failed else ImportBatch.Status.DONE)
    ImportBatch.objects.filter(pk=batch_id).update(finished_at=clock.now())
    batch.refresh_from_db()
    audit_record(obj=batch, action="imported" if not failed else "failed", actor=actor,
                 data={k: v for k, v in report.counts.items()})
    return batch


def _store(batch: ImportBatch, report: Report, *, status: str) -> None:
    # The first rows, and every error row after them.
    results = report.results[:PREVIEW_ROWS] + [r for r in report.results[PREVIEW_ROWS:] if r[2] == ERROR]
    batch.counts = {**report.counts, "results": results, "headers": report.headers,
                    "mapping": report.mapping, "unknown": report.unknown_headers}
    batch.totals = {k: str(v) for k, v in report.totals.items()}
    batch.errors = report.errors
    batch.rows_total = report.rows_total
    batch.rows_done = report.rows_done
    batch.message = report.file_error[:300]
    batch.status = status
    batch.save(update_fields=["counts", "totals", "errors", "rows_total", "rows_done", "message", "status"])


class _Rollback(Exception):
    pass


def run_rows(
    *, batch: ImportBatch, actor, today: dt.date, commit: bool, on_progress: Callable[[int], None] | None = None,
) -> Report:
    """Read the file, convert each row, group records, and apply them (rolled back unless `commit`)."""
    spec = KINDS[batch.kind]
    report = Report()
    try:
        sheet = read_sheet(content=bytes(batch.content), filename=batch.filename)
    except FileProblem as exc:
        report.file_error = str(exc)
        return report
    report.headers = sheet.headers
    report.rows_total = len(sheet.rows)
    positions, report.unknown_headers = columns_map(kind=batch.kind, headers=sheet.headers, mapping=batch.mapping)
    report.mapping = {sheet.headers[p]: name for p, name in positions.items()}
    columns = {c.name: c for c in spec.columns}
    missing = [c.name for c in spec.columns if c.required and c.name not in positions.values()]
    if missing:
        report.file_error = _("Missing column: %(columns)s.") % {"columns": ", ".join(missing)}
        for number, cells in enumerate(sheet.rows, start=2):
            _error(report, number, missing[0], report.file_error, cells)
        return report

    # Convert every row; group records by their key; refuse duplicate keys.
    # (row, values — or True in bulk mode, where a part re-reads its cells, or None when the row has an error, cells)
    records: dict[str | None, list[tuple[int, dict | bool | None, list]]] = {}
    first_row: dict[str, int] = {}
    converted: dict[tuple[str, str], object] = {}  # the same cell text converts the same way: once per file

    def convert_row(cells: list) -> tuple[dict, RowError | None]:
        values, problem = {}, None
        for position, name in positions.items():
            raw = cells[position]
            column = columns[name]
            if column.type == "text":
                try:
                    value = convert(column, raw)
                except RowError as exc:
                    value = exc
            else:
                value = converted.get((name, raw), converted)
                if value is converted:
                    try:
                        value = convert(column, raw)
                    except RowError as exc:
                        value = exc
                    if len(converted) < 100_000:
                        converted[(name, raw)] = value
            if isinstance(value, RowError):
                problem = problem or value
            else:
                values[name] = value
        return values, problem

    # The bulk path keeps only the cells of a good row and converts them again a part at a time
    # (from `converted`): a 600,000-row file then fits in memory.
    bulk = use_bulk(batch.kind, len(sheet.rows))
    for number, cells in enumerate(sheet.rows, start=2):
        values, problem = convert_row(cells)
        key = values.get(spec.group_by)
        if problem is None and key is not None and len(str(key)) > 100:
            problem = RowError(spec.group_by, _("At most 100 characters."))
        if problem is None and not spec.grouped and key in first_row:
            problem = RowError(spec.group_by, _("Duplicate external id %(id)s (first on row %(row)s).")
                               % {"id": key, "row": first_row[key]})
        if key is not None:
            first_row.setdefault(key, number)
        if problem is not None:
            _error(report, number, problem.column, problem.message, cells)
            if spec.grouped and key in records:
                records[key].append((number, None, cells))  # poisons the whole contract
            continue
        records.setdefault(key, []).append((number, True if bulk else values, cells))

    ctx = Context(actor=actor, today=today, batch_id=batch.pk)
    items = list(records.items())
    del records, first_row, sheet
    done = 0
    good_rows = commit and batch.mode == ImportBatch.Mode.GOOD_ROWS
    if bulk:
        _run_bulk(spec, ctx, items, report, commit=commit, good_rows=good_rows, on_progress=on_progress,
                  convert_row=convert_row)
        report.counts[ERROR] = len({e["row"] for e in report.errors})
        report.errors.sort(key=lambda e: e["row"])
        report.results.sort(key=lambda r: r[0])
        return report
    chunks = [items[i:i + CHUNK_RECORDS] for i in range(0, len(items), CHUNK_RECORDS)] if commit else [items]
    for chunk in chunks:
        chunk_report = Report()
        rolled_back = False
        try:
            with transaction.atomic():
                for key, rows in chunk:
                    _apply_record(spec, ctx, key, rows, chunk_report, report)
                if not commit:
                    raise _Rollback
                if chunk_report.errors and not good_rows:
                    raise _Rollback
        except _Rollback:
            rolled_back = commit
        if rolled_back:  # nothing of this chunk was written: only its errors are reported
            chunk_report = Report(errors=chunk_report.errors,
                                  results=[r for r in chunk_report.results if r[2] == ERROR])
        _merge(report, chunk_report)
        done += sum(len(rows) for _k, rows in chunk)
        report.rows_done = done
        if on_progress is not None:
            on_progress(done)
        if commit and chunk_report.errors and not good_rows:
            report.file_error = _("Stopped at a row that failed; the rows before this part of the file were imported. "
                                  "Fix it and import the same file again: what was imported stays unchanged.")
            break
        if not commit:
            ctx.cache.clear()  # objects looked up inside a rolled-back transaction do not exist
    report.counts[ERROR] = len({e["row"] for e in report.errors})
    report.errors.sort(key=lambda e: e["row"])
    report.results.sort(key=lambda r: r[0])
    return report


def use_bulk(kind: str, records: int) -> bool:
    """Accounts and contracts files of `BULK_MIN_RECORDS` records or more take the bulk path."""
    from imports.bulk import PLANNERS

    return kind in PLANNERS and BULK_MIN_RECORDS is not None and records >= BULK_MIN_RECORDS


def _run_bulk(
    spec, ctx: Context, items, report: Report, *, commit: bool, good_rows: bool, on_progress, convert_row,
) -> None:
    """The bulk path (`imports.bulk`): the file checked a part at a time and, at commit, written in one
    transaction; all or nothing rolls the whole file back at the first error row, and still checks
    every row so the result lists them all."""
    from imports import bulk

    failed = False
    schedules: dict = {}

    def process() -> None:
        nonlocal failed
        done = 0
        for start in range(0, len(items), bulk.WRITE_BATCH):
            part = [(key, [(n, convert_row(cells)[0] if values is not None else None, cells) for n, values, cells in rows])
                    for key, rows in items[start:start + bulk.WRITE_BATCH]]
            part_report = Report()
            plannable = []
            for key, rows in part:
                if any(values is None for _n, values, _c in rows):
                    _apply_record(spec, ctx, key, rows, part_report, report)  # "another line has an error"
                else:
                    plannable.append((key, rows))
            results = bulk.PLANNERS[spec.kind](ctx, [(key, [v for _n, v, _c in rows if v is not None]) for key, rows in plannable])
            creations = []
            for (key, rows), result in zip(plannable, results, strict=True):
                if result.slow:  # an update, or a change the kind refuses with its own reason: row by row
                    _apply_record(spec, ctx, key, rows, part_report, report)
                    continue
                if result.action == ERROR:
                    for number, _values, cells in rows:
                        _error(part_report, number, result.column, result.message, cells)
                    continue
                for number, _values, _cells in rows:
                    if number < PREVIEW_ROWS + 2:  # `_store` keeps the first rows and the errors only
                        part_report.results.append([number, key, result.action, "", ""])
                part_report.counts[result.action] += len(rows)
                part_report.add_totals(result.totals)
                if result.action == CREATE:
                    creations.append(result.plan)
            if part_report.errors and not good_rows:
                failed = True
            if commit and not failed:
                bulk.WRITERS[spec.kind](ctx, creations, schedules)
            _merge(report, part_report)
            done += sum(len(rows) for _k, rows in part)
            report.rows_done = done
            if commit and not failed:
                bulk.report_progress(on_progress, done)
        if not commit or failed:
            raise _Rollback

    bulk.written_forget()
    try:
        with transaction.atomic():
            process()
    except _Rollback:
        bulk.written_forget()
    else:
        transaction.on_commit(bulk.written_analyze)
    if commit and failed:  # nothing of the file was written: only its errors are reported
        report.results = [r for r in report.results if r[2] == ERROR]
        report.counts.update({CREATE: 0, UPDATE: 0, UNCHANGED: 0})
        report.totals = {}
        report.file_error = _("Nothing was imported: fix the error rows and import the file again, "
                              "or import only the good rows.")
    elif commit and on_progress is not None:
        on_progress(report.rows_done)


def _apply_record(spec, ctx: Context, key, rows, chunk_report: Report, report: Report) -> None:
    if any(values is None for _n, values, _c in rows):
        for number, values, cells in rows:
            if values is not None:
                _error(chunk_report, number, spec.group_by, _("Another line of this contract has an error."), cells)
        return
    try:
        with transaction.atomic():
            outcome = spec.apply(ctx, [values for _n, values, _c in rows])
    except RowError as exc:
        column, message = exc.column, exc.message
    except (DomainError, PricingError) as exc:
        column, message = error_of(exc)
    else:
        for number, _values, _cells in rows:
            chunk_report.results.append([number, key, outcome.action, "", ""])
        chunk_report.counts[outcome.action] += len(rows)
        chunk_report.add_totals(outcome.totals)
        return
    ctx.cache.clear()  # a rolled-back savepoint may have created objects the cache now holds
    for number, _values, cells in rows:
        _error(chunk_report, number, column, message, cells)


def _error(report: Report, number: int, column: str, message: str, cells: list) -> None:
    report.errors.append({"row": number, "column": column, "message": str(message), "cells": list(cells)})
    report.results.append([number, "", ERROR, column, str(message)])


def _merge(report: Report, part: Report) -> None:
    for k in (CREATE, UPDATE, UNCHANGED):
        report.counts[k] += part.counts[k]
    for k, v in part.totals.items():
        report.totals[k] = report.totals.get(k, 0) + v
    report.results.extend(part.results)
    report.errors.extend(part.errors)


def template_header(kind: str) -> list[str]:
    """The columns of a kind's template, in order (English names)."""
    return [c.name for c in KINDS[kind].columns]


def required_columns(kind: str) -> list[Column]:
    return [c for c in KINDS[kind].columns if c.required]


ZERO = Decimal("0")
