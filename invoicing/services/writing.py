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
    if connection.vendor == "postgresql" and objs:
        return _copy_invoices(objs)
    return Invoice.objects.bulk_create(objs, batch_size=1000)


INVOICE_COPY_FIELDS = (
    "id", "account_id", "legal_entity_id", "currency", "payment_terms_days", "contract_id", "language", "status",
    "invoice_date", "due_date", "target_date", "subtotal_amount", "tax_amount", "total_amount", "open_amount",
    "payment_status", "snapshot", "pdf", "run_id", "rebill_of_id", "created_at",
)


def _copy_invoices(objs: list[Invoice]) -> list[Invoice]:
    """Take ids from the sequence in one query, then COPY the rows (much faster than INSERT … VALUES)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('invoicing_invoice', 'id')) FROM generate_series(1, %s)", [len(objs)])
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY invoicing_invoice ({', '.join(INVOICE_COPY_FIELDS)}) FROM STDIN") as copy:
            for pk, obj in zip(ids, objs, strict=True):
                obj.pk, obj.created_at = pk, now
                copy.write_row((
                    pk, obj.account_id, obj.legal_entity_id, obj.currency, obj.payment_terms_days, obj.contract_id,
                    obj.language, obj.status, obj.invoice_date, obj.due_date, obj.target_date, obj.subtotal_amount,
                    obj.tax_amount, obj.total_amount, obj.open_amount, obj.payment_status, json.dumps(obj.snapshot), "",
                    obj.run_id, obj.rebill_of_id, now,
                ))
    for obj in objs:
        obj._state.adding, obj._state.db = False, "default"
    return objs


AUDIT_COPY_FIELDS = ("at", "actor_id", "actor_label", "object_type", "object_id", "object_repr", "action", "from_state",
                     "to_state", "message", "data")


def _insert_audit(rows: list[AuditLog]) -> None:
    if connection.vendor != "postgresql":
        AuditLog.objects.bulk_create(rows, batch_size=1000)
        return
    now = timezone.now()
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY billing_site_auditlog ({', '.join(AUDIT_COPY_FIELDS)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row((now, r.actor_id, r.actor_label, r.object_type, r.object_id, r.object_repr, r.action, r.from_state,
                            r.to_state, r.message, json.dumps(r.data or {})))


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
    if connection.vendor == "postgresql" and is_invoice:
        _update_posted_pg(objs, now=now, actor=actor)
    else:
        type(objs[0]).objects.bulk_update(objs, fields, batch_size=500)


def _update_posted_pg(invoices: list[Invoice], *, now, actor) -> None:
    """One UPDATE … FROM (VALUES …) for a batch of invoices (bulk_update's CASE is slower)."""
    values = ", ".join(["(%s::bigint, %s, %s::bigint, %s::date, %s::date)"] * len(invoices))
    params = []
    for inv in invoices:
        params += [inv.pk, inv.number, inv.sequence, inv.invoice_date, inv.due_date]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE invoicing_invoice AS i SET status = 'posted', number = v.number, sequence = v.seq, "
            "invoice_date = v.idate, due_date = v.ddate, posted_at = %s, posted_by_id = %s "
            f"FROM (VALUES {values}) AS v(id, number, seq, idate, ddate) WHERE i.id = v.id AND i.status = 'draft'",
            [now, getattr(actor, "pk", None), *params],
        )


def _insert_invoice_lines(rows: list[tuple]) -> None:
    """COPY on PostgreSQL (the run's largest write by far); bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            sql = f"COPY invoicing_invoiceline ({', '.join(LINE_COLUMNS)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        return
    InvoiceLine.objects.bulk_create([InvoiceLine(**dict(zip(LINE_COLUMNS, row, strict=True))) for row in rows], batch_size=500)
