"""Writing built documents: bulk statements inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing_site.errors import Conflict
from billing_site.events import events_record_many, fields_of
from billing_site.models import AuditLog
from invoicing.models import (
    CreditNote,
    CreditNoteLine,
    DocumentType,
    Invoice,
    InvoiceLine,
    PaymentStatus,
    UsageRecord,
)
from invoicing.schedule import entries_mark_billed, entry_set_usage_amount
from invoicing.services.billing import AccountBill, BillingContext, DocDraft, snapshot_for
from invoicing.services.numbering import numbers_take

LINE_COLUMNS = (
    "invoice_id", "position", "source", "schedule_entry_id", "billing_key", "subscription_id", "description",
    "period_start", "period_end", "quantity", "unit_price", "factor_numerator", "factor_denominator",
    "factor_display", "net_amount", "tax_rate_percent", "tax_label", "tax_amount", "total_amount", "corrects_id",
)

# The data of the invoice.posted and credit_note.posted events (billing_site/events.py).
INVOICE_EVENT_FIELDS = ("id", "number", "status", "currency", "invoice_date", "due_date", "subtotal_amount", "tax_amount",
                        "total_amount", "contract_id")
CREDIT_NOTE_EVENT_FIELDS = ("id", "number", "status", "kind", "currency", "credit_date", "invoice_id", "total_amount")


class ScheduleMoved(Conflict):
    """Fewer entries were still pending than were billed: the schedule changed during the run."""

    # Lazy: a class attribute is read at import, before any request's language is active.
    default_message = gettext_lazy("The billing schedule changed while this account was billed; the next run bills what is due.")


@dataclass
class WriteResult:
    invoice_ids: list[int] = field(default_factory=list)
    credit_note_ids: list[int] = field(default_factory=list)
    posted_invoice_ids: list[int] = field(default_factory=list)
    posted_credit_note_ids: list[int] = field(default_factory=list)
    lines: int = 0
    totals: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


def write_bills(
    *,
    bills: list[AccountBill],
    ctx: BillingContext,
    run_id: int | None,
    auto_post: bool,
    invoice_date: dt.date,
    now: dt.datetime,
    actor=None,
    actor_label: str = "",
    rebill_of: Invoice | None = None,
) -> WriteResult:
    """Write the documents of these accounts; call inside a transaction holding the accounts' locks."""
    result = WriteResult()
    bills = [b for b in bills if b.documents]
    if not bills:
        return result
    entry_ids = [entry_id for bill in bills for entry_id in bill.entry_ids]

    for bill in bills:
        for rating in bill.ratings:
            entry_set_usage_amount(entry_id=rating.entry_id, quantity=rating.quantity, amount=rating.amount)
            UsageRecord.objects.filter(
                subscription_id=rating.subscription_id, business_date__gte=rating.period_start,
                business_date__lt=rating.period_end,
            ).update(rated_entry_id=rating.entry_id)

    invoice_docs = [doc for bill in bills for doc in bill.invoices]
    credit_docs = [doc for bill in bills for doc in bill.credit_notes]
    if connection.vendor == "postgresql":
        _write_bills_pg(
            invoice_docs, credit_docs, entry_ids=entry_ids, result=result, ctx=ctx, run_id=run_id, auto_post=auto_post,
            invoice_date=invoice_date, now=now, actor=actor, actor_label=actor_label, rebill_of=rebill_of,
        )
        return result
    invoices = _create_invoices(invoice_docs, ctx=ctx, run_id=run_id, invoice_date=invoice_date, rebill_of=rebill_of)
    rows = []
    for invoice, doc in zip(invoices, invoice_docs, strict=True):
        for position, line in enumerate(doc.lines, start=1):
            rows.append((
                invoice.pk, position, line.source, line.entry_id, line.entry_id, line.subscription_id, line.description,
                line.period_start, line.period_end, line.quantity, line.unit_price, line.factor_numerator,
                line.factor_denominator, line.factor_display, line.net_amount, line.tax_rate_percent, line.tax_label,
                line.tax_amount, line.total_amount, line.invoice_line_id,
            ))
        result.totals[doc.currency] += doc.total_amount
    _insert_invoice_lines(rows)
    result.lines = len(rows)

    credit_notes = _create_credit_notes(credit_docs, ctx=ctx, run_id=run_id, actor=actor)
    _write_credit_lines(credit_notes, credit_docs, result)

    # The claim: pending → billed, conditionally. Anything less than all means a concurrent change.
    changed = entries_mark_billed(entry_ids=entry_ids, billed_at=now)
    if changed != len(entry_ids):
        raise ScheduleMoved()

    result.invoice_ids = [i.pk for i in invoices]
    result.credit_note_ids = [c.pk for c in credit_notes]
    audit_rows = []
    label = actor_label or (actor.get_username() if getattr(actor, "is_authenticated", False) else "system")
    user = actor if getattr(actor, "is_authenticated", False) else None
    if auto_post:
        _post_bulk(invoices, DocumentType.INVOICE, now=now, actor=user, invoice_date=invoice_date, ctx=ctx)
        _post_bulk(credit_notes, DocumentType.CREDIT_NOTE, now=now, actor=user, invoice_date=invoice_date, ctx=ctx)
        result.posted_invoice_ids = result.invoice_ids
        events_record_many([("invoice.posted", i.account_id, fields_of(i, *INVOICE_EVENT_FIELDS)) for i in invoices]
                           + [("credit_note.posted", c.account_id, fields_of(c, *CREDIT_NOTE_EVENT_FIELDS)) for c in credit_notes])
        result.posted_credit_note_ids = result.credit_note_ids
    documents: list[tuple[Invoice | CreditNote, str]] = [*((i, "invoicing.invoice") for i in invoices), *((c, "invoicing.creditnote") for c in credit_notes)]
    for obj, object_type in documents:
        audit_rows.append(
            AuditLog(
                actor=user, actor_label=label[:150], object_type=object_type, object_id=str(obj.pk),
                object_repr=str(obj)[:200], action="posted" if auto_post else "created", from_state="",
                to_state=obj.status, message=_("Invoice run %(id)s") % {"id": run_id} if run_id else "",
            )
        )
    _insert_audit(audit_rows)
    return result


def _write_bills_pg(invoice_docs, credit_docs, *, entry_ids, result, ctx, run_id, auto_post, invoice_date, now, actor,
                    actor_label, rebill_of) -> None:
    """PostgreSQL: every bulk write is a COPY of plain tuples, and an invoice row is written once, as it ends.

    The order keeps the guard on posted invoices (a line may only be added to a draft) and keeps the
    numbering late: the invoice ids are taken from the sequence, the lines are copied first (their
    foreign key to the invoice is deferred to commit), the schedule entries are claimed, and only then
    are the numbers taken — the series rows stay locked until commit — and the invoices copied, already
    posted when the run posts.
    """
    user = actor if getattr(actor, "is_authenticated", False) else None
    label = (actor_label or (actor.get_username() if user else "system"))[:150]
    ids = _next_ids("invoicing_invoice", len(invoice_docs))
    line_rows = []
    amounts = []
    for pk, doc in zip(ids, invoice_docs, strict=True):
        for position, line in enumerate(doc.lines, start=1):
            line_rows.append((
                pk, position, line.source, line.entry_id, line.entry_id, line.subscription_id, line.description,
                line.period_start, line.period_end, line.quantity, line.unit_price, line.factor_numerator,
                line.factor_denominator, line.factor_display, line.net_amount, line.tax_rate_percent, line.tax_label,
                line.tax_amount, line.total_amount, line.invoice_line_id,
            ))
        subtotal, tax = doc.subtotal_amount, doc.tax_amount
        amounts.append((subtotal, tax, subtotal + tax))
        result.totals[doc.currency] += subtotal + tax
    _insert_invoice_lines(line_rows)
    result.lines = len(line_rows)

    credit_notes = _create_credit_notes(credit_docs, ctx=ctx, run_id=run_id, actor=actor)
    _write_credit_lines(credit_notes, credit_docs, result)

    # The claim: pending → billed, conditionally. Anything less than all means a concurrent change.
    if entries_mark_billed(entry_ids=entry_ids, billed_at=now) != len(entry_ids):
        raise ScheduleMoved()

    numbers: list[tuple[int | None, str | None]] = [(None, None)] * len(invoice_docs)
    if auto_post:
        by_entity = defaultdict(list)
        for index, doc in enumerate(invoice_docs):
            by_entity[doc.legal_entity_id].append(index)
        # Series rows are locked in one order (legal entity id, invoices before credit notes) so two
        # writers cannot deadlock.
        for entity_id in sorted(by_entity):
            indexes = by_entity[entity_id]
            series, first = numbers_take(legal_entity_id=entity_id, document_type=DocumentType.INVOICE, count=len(indexes))
            for offset, index in enumerate(indexes):
                numbers[index] = (first + offset, series.format(first + offset))
    status = Invoice.Status.POSTED if auto_post else Invoice.Status.DRAFT
    created = timezone.now()
    posted_at, posted_by = (now, getattr(user, "pk", None)) if auto_post else (None, None)
    invoice_rows: list[tuple] = []
    events: list[tuple[str, int | None, dict]] = []
    audit_rows: list[tuple] = []
    message = _("Invoice run %(id)s") % {"id": run_id} if run_id else ""
    action = "posted" if auto_post else "created"
    rebill_id = rebill_of.pk if rebill_of is not None else None
    for pk, doc, (subtotal, tax, total), (sequence, number) in zip(ids, invoice_docs, amounts, numbers, strict=True):
        due = invoice_date + dt.timedelta(days=doc.payment_terms_days)
        snapshot = snapshot_for(account=ctx.accounts[doc.account_id], legal_entity=ctx.legal_entities[doc.legal_entity_id],
                                payment_terms_days=doc.payment_terms_days)
        invoice_rows.append((
            pk, doc.account_id, doc.legal_entity_id, doc.currency, doc.payment_terms_days, doc.contract_id, doc.language,
            status, number, sequence, invoice_date, due, ctx.target_date, subtotal, tax, total, total,
            PaymentStatus.PAID if total <= 0 else PaymentStatus.UNPAID, json.dumps(snapshot), "", run_id, rebill_id,
            created, posted_at, posted_by,
        ))
        if auto_post:
            events.append(("invoice.posted", doc.account_id, {
                "id": pk, "number": number, "status": status, "currency": doc.currency, "invoice_date": invoice_date,
                "due_date": due, "subtotal_amount": subtotal, "tax_amount": tax, "total_amount": total, "contract_id": doc.contract_id,
            }))
        audit_rows.append((created, posted_by, label, "invoicing.invoice", str(pk),
                           (number or _("Draft invoice %(id)s") % {"id": pk})[:200], action, "", status, message, "{}"))
    _copy_rows("invoicing_invoice", INVOICE_POSTED_COLUMNS, invoice_rows)

    if auto_post:
        _post_bulk(credit_notes, DocumentType.CREDIT_NOTE, now=now, actor=user, invoice_date=invoice_date, ctx=ctx)
        events += [("credit_note.posted", c.account_id, fields_of(c, *CREDIT_NOTE_EVENT_FIELDS)) for c in credit_notes]
        events_record_many(events)
        result.posted_invoice_ids = ids
        result.posted_credit_note_ids = [c.pk for c in credit_notes]
    for note in credit_notes:
        audit_rows.append((created, posted_by, label, "invoicing.creditnote", str(note.pk), str(note)[:200], action, "",
                           note.status, message, "{}"))
    _copy_rows("billing_site_auditlog", AUDIT_COPY_FIELDS, audit_rows)
    result.invoice_ids = ids
    result.credit_note_ids = [c.pk for c in credit_notes]


INVOICE_POSTED_COLUMNS = (
    "id", "account_id", "legal_entity_id", "currency", "payment_terms_days", "contract_id", "language", "status", "number",
    "sequence", "invoice_date", "due_date", "target_date", "subtotal_amount", "tax_amount", "total_amount", "open_amount",
    "payment_status", "snapshot", "pdf", "run_id", "rebill_of_id", "created_at", "posted_at", "posted_by_id",
)


def _next_ids(table: str, count: int) -> list[int]:
    """`count` ids from the table's sequence, in one query."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", [count])
        return [row[0] for row in cursor.fetchall()]


def _copy_rows(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY plain tuples into a table (PostgreSQL)."""
    if not rows:
        return
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _write_credit_lines(credit_notes: list[CreditNote], credit_docs: list[DocDraft], result: WriteResult) -> None:
    credit_lines = []
    for note, doc in zip(credit_notes, credit_docs, strict=True):
        for position, line in enumerate(doc.lines, start=1):
            credit_lines.append(
                CreditNoteLine(
                    credit_note_id=note.pk, position=position, source=line.source, invoice_line_id=line.invoice_line_id,
                    schedule_entry_id=line.entry_id, credit_key=line.entry_id, description=line.description,
                    period_start=line.period_start, period_end=line.period_end, quantity=line.quantity,
                    unit_price=line.unit_price, factor_display=line.factor_display, net_amount=line.net_amount,
                    tax_rate_percent=line.tax_rate_percent, tax_label=line.tax_label, tax_amount=line.tax_amount,
                    total_amount=line.total_amount,
                )
            )
        result.totals[doc.currency] -= doc.total_amount
    CreditNoteLine.objects.bulk_create(credit_lines, batch_size=1000)
    result.lines += len(credit_lines)


def _create_invoices(docs: list[DocDraft], *, ctx, run_id, invoice_date, rebill_of) -> list[Invoice]:
    objs = []
    for doc in docs:
        account = ctx.accounts[doc.account_id]
        objs.append(
            Invoice(
                account_id=doc.account_id, legal_entity_id=doc.legal_entity_id, currency=doc.currency,
                payment_terms_days=doc.payment_terms_days, contract_id=doc.contract_id, language=doc.language,
                status=Invoice.Status.DRAFT, invoice_date=invoice_date,
                due_date=invoice_date + dt.timedelta(days=doc.payment_terms_days), target_date=ctx.target_date,
                subtotal_amount=doc.subtotal_amount, tax_amount=doc.tax_amount, total_amount=doc.total_amount,
                open_amount=doc.total_amount,
                payment_status=PaymentStatus.PAID if doc.total_amount <= 0 else PaymentStatus.UNPAID,
                snapshot=snapshot_for(
                    account=account, legal_entity=ctx.legal_entities[doc.legal_entity_id],
                    payment_terms_days=doc.payment_terms_days,
                ),
                run_id=run_id, rebill_of=rebill_of,
            )
        )
    return Invoice.objects.bulk_create(objs, batch_size=1000)


AUDIT_COPY_FIELDS = ("at", "actor_id", "actor_label", "object_type", "object_id", "object_repr", "action", "from_state",
                     "to_state", "message", "data")


def _insert_audit(rows: list[AuditLog]) -> None:
    AuditLog.objects.bulk_create(rows, batch_size=1000)


def _create_credit_notes(docs: list[DocDraft], *, ctx, run_id, actor) -> list[CreditNote]:
    objs = []
    for doc in docs:
        invoice_ids = {ctx_line for ctx_line in doc.invoice_ids}
        invoice_id = None
        if invoice_ids:
            parents = set(InvoiceLine.objects.filter(id__in=invoice_ids).values_list("invoice_id", flat=True).distinct())
            invoice_id = parents.pop() if len(parents) == 1 else None
        objs.append(
            CreditNote(
                account_id=doc.account_id, legal_entity_id=doc.legal_entity_id, currency=doc.currency,
                invoice_id=invoice_id, kind=CreditNote.Kind.AMENDMENT, language=doc.language,
                reason=_("Amendment: credit for the time already billed after the change"),
                subtotal_amount=doc.subtotal_amount, tax_amount=doc.tax_amount, total_amount=doc.total_amount,
                snapshot=snapshot_for(
                    account=ctx.accounts[doc.account_id], legal_entity=ctx.legal_entities[doc.legal_entity_id],
                    payment_terms_days=doc.payment_terms_days,
                ),
                run_id=run_id, created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
        )
    return CreditNote.objects.bulk_create(objs)


def _post_bulk(objs, document_type, *, now, actor, invoice_date, ctx) -> None:
    """Give each document the next numbers of its legal entity's series and mark it posted."""
    if not objs:
        return
    by_entity = defaultdict(list)
    for obj in objs:
        by_entity[obj.legal_entity_id].append(obj)
    is_invoice = document_type == DocumentType.INVOICE
    # Series rows are locked in one order (legal entity id) so two writers cannot deadlock.
    for entity_id in sorted(by_entity):
        group = by_entity[entity_id]
        series, first = numbers_take(legal_entity_id=entity_id, document_type=document_type, count=len(group))
        for offset, obj in enumerate(group):
            obj.sequence = first + offset
            obj.number = series.format(obj.sequence)
            obj.status = obj.Status.POSTED
            obj.posted_at = now
            obj.posted_by = actor
            if is_invoice:
                obj.invoice_date = invoice_date
                obj.due_date = invoice_date + dt.timedelta(days=obj.payment_terms_days)
            else:
                obj.credit_date = invoice_date
    fields = ["status", "number", "sequence", "posted_at", "posted_by"] + (
        ["invoice_date", "due_date"] if is_invoice else ["credit_date"]
    )
    type(objs[0]).objects.bulk_update(objs, fields, batch_size=500)


def _insert_invoice_lines(rows: list[tuple]) -> None:
    """COPY on PostgreSQL (the run's largest write by far); bulk_create elsewhere."""
    if connection.vendor == "postgresql":
        _copy_rows("invoicing_invoiceline", LINE_COLUMNS, rows)
        return
    InvoiceLine.objects.bulk_create([InvoiceLine(**dict(zip(LINE_COLUMNS, row, strict=True))) for row in rows], batch_size=500)
