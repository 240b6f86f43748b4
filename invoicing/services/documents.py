"""Posting, discarding and correcting documents: invoices, credit notes, allocations, cancel & rebill."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Case, F, Sum, Value, When
from django.db.models.functions import Round
from django.db.models.lookups import LessThan, LessThanOrEqual
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import Immutable, InvalidTransition, ValidationFailed
from billing_site.events import event_record, fields_of
from billing_site.limits import amount_error
from billing_site.money import format_money, minor_units, round_money, sum_money, to_decimal
from catalog.pricing import tax_for_line
from customers.models import Account
from invoicing.models import (
    CreditNote,
    CreditNoteLine,
    DocumentType,
    Invoice,
    InvoiceLine,
    PaymentStatus,
)
from invoicing.schedule import entries_mark_unbilled
from invoicing.services.billing import (
    ACCOUNT_FIELDS,
    ReferenceCache,
    build_account,
    load_context,
    snapshot_for,
)
from invoicing.services.delivery import documents_deliver_later
from invoicing.services.numbering import numbers_take
from invoicing.services.writing import CREDIT_NOTE_EVENT_FIELDS, INVOICE_EVENT_FIELDS, write_bills

ZERO = Decimal("0")


def _snapshot(document) -> dict:
    account = Account.objects.filter(pk=document.account_id).values(*ACCOUNT_FIELDS).get()
    entity = ReferenceCache().legal_entities[document.legal_entity_id]
    contract = getattr(document, "contract", None)
    return snapshot_for(
        account=account, legal_entity=entity, contract_number=contract.number if contract else None,
        payment_terms_days=getattr(document, "payment_terms_days", 0),
    )


def _refuse_if_posted(document) -> None:
    if document.status != document.Status.DRAFT:
        raise Immutable(_("%(document)s is posted and cannot be changed; correct it with a credit note.") % {"document": document})


def invoice_post(*, invoice: Invoice, actor, today: dt.date | None = None, invoice_date: dt.date | None = None) -> Invoice:
    """draft → posted: next gapless number, invoice and due dates, frozen totals and snapshot."""
    today = today or clock.today()
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).select_related("contract").get(pk=invoice.pk)
        if invoice.status != Invoice.Status.DRAFT:
            raise InvalidTransition(
                _("Only a draft invoice can be posted; %(number)s is %(status)s.")
                % {"number": invoice, "status": invoice.get_status_display().lower()}
            )
        lines = list(invoice.lines.values_list("net_amount", "tax_amount"))
        if not lines:
            raise ValidationFailed(_("An invoice without lines cannot be posted."))
        invoice.subtotal_amount = sum_money((n for n, _t in lines), invoice.currency)
        invoice.tax_amount = sum_money((t for _n, t in lines), invoice.currency)
        invoice.total_amount = invoice.subtotal_amount + invoice.tax_amount
        # A draft carries no allocation: all of it is open.
        invoice.open_amount = invoice.total_amount
        invoice.payment_status = payment_status_for(total_amount=invoice.total_amount, open_amount=invoice.open_amount)
        invoice.invoice_date = invoice_date or today
        invoice.due_date = invoice.invoice_date + dt.timedelta(days=invoice.payment_terms_days)
        invoice.snapshot = _snapshot(invoice)
        invoice.posted_at = clock.now()
        invoice.posted_by = actor if getattr(actor, "is_authenticated", False) else None
        # Taken last, so the series row is locked for as short a time as possible.
        series, number = numbers_take(legal_entity_id=invoice.legal_entity_id, document_type=DocumentType.INVOICE)
        invoice.sequence, invoice.number = number, series.format(number)
        invoice.status = Invoice.Status.POSTED
        invoice.save()
        audit_record(obj=invoice, action="posted", actor=actor, from_state=Invoice.Status.DRAFT, to_state=invoice.status,
                     data={"total": str(invoice.total_amount), "currency": invoice.currency})
        event_record(type="invoice.posted", account_id=invoice.account_id, payload=fields_of(invoice, *INVOICE_EVENT_FIELDS))
        documents_deliver_later(invoice_ids=[invoice.pk])
    return invoice


def invoice_discard(*, invoice: Invoice, actor) -> list[int]:
    """Delete a draft; its schedule entries go back to "to bill". Returns those entry ids."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        _refuse_if_posted(invoice)
        entry_ids = [e for e in invoice.lines.values_list("schedule_entry_id", flat=True) if e]
        label = str(invoice)
        audit_record(obj=invoice, action="discarded", actor=actor, from_state=invoice.status, to_state="", message=label)
        invoice.lines.all().delete()
        invoice.delete()
        entries_mark_unbilled(entry_ids=entry_ids, actor=actor)
    return entry_ids


def invoice_regenerate(*, invoice: Invoice, actor, today: dt.date | None = None) -> Invoice | None:
    """Rebuild a draft from today's schedule and account details (same periods, same target date)."""
    today = today or clock.today()
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=invoice.account_id).first()
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        _refuse_if_posted(invoice)
        target, run_id, rebill_of, account_id = invoice.target_date or today, invoice.run_id, invoice.rebill_of, invoice.account_id
        invoice_date = invoice.invoice_date or today
        entry_ids = invoice_discard(invoice=invoice, actor=actor)
        documents = _bill_entries(account_id=account_id, entry_ids=entry_ids, target=target, run_id=run_id,
                                  invoice_date=invoice_date, actor=actor, rebill_of=rebill_of)
    return documents[0] if documents else None


def _bill_entries(*, account_id, entry_ids, target, run_id, invoice_date, actor, rebill_of=None) -> list[Invoice]:
    ctx = load_context(account_ids=[account_id], target_date=target, entry_ids=entry_ids)
    bill = build_account(ctx, account_id)
    if bill.error:
        raise ValidationFailed(bill.error)
    result = write_bills(bills=[bill], ctx=ctx, run_id=run_id, auto_post=False, invoice_date=invoice_date,
                         now=clock.now(), actor=actor, rebill_of=rebill_of)
    return list(Invoice.objects.filter(pk__in=result.invoice_ids))


def credited_by_line(invoice_id: int) -> dict[int, tuple[Decimal, Decimal]]:
    """Net and tax already credited (posted or draft credit notes) per invoice line."""
    out = {}
    for row in (
        CreditNoteLine.objects.filter(invoice_line__invoice_id=invoice_id).values("invoice_line_id")
        .annotate(net=Sum("net_amount"), tax=Sum("tax_amount"))
    ):
        out[row["invoice_line_id"]] = (row["net"] or ZERO, row["tax"] or ZERO)
    return out


def _open_invoice(invoice_pk: int) -> Invoice:
    invoice = Invoice.objects.select_for_update().get(pk=invoice_pk)
    if invoice.status != Invoice.Status.POSTED:
        raise InvalidTransition(_("Only a posted invoice can be credited; %(number)s is %(status)s.")
                                % {"number": invoice, "status": invoice.get_status_display().lower()})
    return invoice


def _parse_amount(value, currency: str, field: str) -> Decimal:
    try:
        amount = to_decimal(value if not isinstance(value, str) else value.strip().replace(",", "."))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValidationFailed(fields={field: [_("Enter an amount.")]}) from exc
    if error := amount_error(amount):
        raise ValidationFailed(fields={field: [error]})
    if round_money(amount, currency) != amount:
        raise ValidationFailed(fields={field: [_("At most %(places)s decimal places.") % {"places": minor_units(currency)}]})
    return amount


def credit_note_create(
    *, invoice: Invoice, lines: dict | None, reason: str, actor, kind: str | None = None
) -> CreditNote:
    """A draft credit note: every remaining amount (`lines` None) or chosen net amounts per invoice line."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("Say why the invoice is credited.")]})
    with transaction.atomic():
        invoice = _open_invoice(invoice.pk)
        credited = credited_by_line(invoice.pk)
        invoice_lines = {line.pk: line for line in invoice.lines.all()}
        chosen: dict[int, Decimal] = {}
        if lines is None:
            chosen = {pk: line.net_amount - credited.get(pk, (ZERO, ZERO))[0] for pk, line in invoice_lines.items()}
            # A netted amendment credit (a negative line) is credited back too, so a full credit is the invoice's total.
            chosen = {pk: amount for pk, amount in chosen.items() if amount != 0}
            kind = kind or CreditNote.Kind.FULL
        else:
            errors = {}
            for raw_pk, raw_amount in lines.items():
                field = f"line_{raw_pk}"
                try:
                    pk = int(raw_pk)
                except (TypeError, ValueError):
                    errors[field] = [_("Unknown invoice line.")]
                    continue
                if pk not in invoice_lines:
                    errors[field] = [_("This line is not on invoice %(number)s.") % {"number": invoice}]
                    continue
                if raw_amount in (None, ""):
                    continue
                try:
                    amount = _parse_amount(raw_amount, invoice.currency, field)
                except ValidationFailed as exc:
                    errors.update(exc.fields)
                    continue
                if amount == 0:
                    continue
                remaining = invoice_lines[pk].net_amount - credited.get(pk, (ZERO, ZERO))[0]
                if amount < 0:
                    errors[field] = [_("A credited amount must be positive.")]
                elif amount > remaining:
                    errors[field] = [_("At most %(remaining)s can still be credited on this line.") % {"remaining": format_money(remaining, invoice.currency)}]
                else:
                    chosen[pk] = amount
            if errors:
                raise ValidationFailed(_("Some amounts cannot be credited."), fields=errors)
            kind = kind or CreditNote.Kind.PARTIAL
        if not chosen:
            raise ValidationFailed(_("Nothing is left to credit on %(number)s.") % {"number": invoice})
        note = CreditNote.objects.create(
            account_id=invoice.account_id, legal_entity_id=invoice.legal_entity_id, currency=invoice.currency, invoice=invoice,
            kind=kind, language=invoice.language, reason=reason[:300],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        note_lines = []
        for position, (pk, amount) in enumerate(sorted(chosen.items()), start=1):
            line = invoice_lines[pk]
            done_net, done_tax = credited.get(pk, (ZERO, ZERO))
            remaining_net, remaining_tax = line.net_amount - done_net, line.tax_amount - done_tax
            # The last credit of a line takes exactly the tax left, so the line's tax is never over-
            # or under-credited by rounding.
            tax = remaining_tax if amount == remaining_net else tax_for_line(
                net_amount=amount, rate_percent=line.tax_rate_percent, currency=invoice.currency
            )
            tax = min(tax, remaining_tax)
            note_lines.append(CreditNoteLine(
                credit_note=note, position=position, source=line.source, invoice_line=line,
                schedule_entry_id=line.schedule_entry_id, description=line.description, period_start=line.period_start,
                period_end=line.period_end, quantity=line.quantity, unit_price=line.unit_price,
                factor_display=line.factor_display, net_amount=amount, tax_rate_percent=line.tax_rate_percent,
                tax_label=line.tax_label, tax_amount=tax, total_amount=amount + tax,
            ))
        CreditNoteLine.objects.bulk_create(note_lines, batch_size=1000)
        note.subtotal_amount = sum_money((x.net_amount for x in note_lines), note.currency)
        note.tax_amount = sum_money((x.tax_amount for x in note_lines), note.currency)
        note.total_amount = note.subtotal_amount + note.tax_amount
        note.save(update_fields=["subtotal_amount", "tax_amount", "total_amount"])
        audit_record(obj=note, action="created", actor=actor, to_state=note.status, message=reason,
                     data={"invoice": str(invoice), "total": str(note.total_amount)})
    return note


def credit_note_post(*, credit_note: CreditNote, actor, today: dt.date | None = None) -> CreditNote:
    """draft → posted: its own series' next number; applied to its invoice up to what is open."""
    today = today or clock.today()
    with transaction.atomic():
        invoice_id = CreditNote.objects.values_list("invoice_id", flat=True).get(pk=credit_note.pk)
        if invoice_id:
            # Lock order shared with payments: the invoice first, then the credit note.
            _open_invoice(invoice_id)  # a cancelled invoice cannot take a new credit
        note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
        if note.status != CreditNote.Status.DRAFT:
            raise InvalidTransition(_("Only a draft credit note can be posted; %(number)s is posted.") % {"number": note})
        note.credit_date = today
        note.snapshot = _snapshot(note)
        note.posted_at = clock.now()
        note.posted_by = actor if getattr(actor, "is_authenticated", False) else None
        series, number = numbers_take(legal_entity_id=note.legal_entity_id, document_type=DocumentType.CREDIT_NOTE)
        note.sequence, note.number = number, series.format(number)
        note.status = CreditNote.Status.POSTED
        note.save()
        audit_record(obj=note, action="posted", actor=actor, from_state=CreditNote.Status.DRAFT, to_state=note.status,
                     data={"total": str(note.total_amount), "currency": note.currency})
        event_record(type="credit_note.posted", account_id=note.account_id, payload=fields_of(note, *CREDIT_NOTE_EVENT_FIELDS))
        if note.invoice_id:
            # Applying a credit to an invoice is one concept, the allocation rows of payments (a later
            # stage). It plugs in here, in this transaction, so the invoice's balance is right at commit.
            for apply in CREDIT_NOTE_APPLY_ON_POST:
                apply(credit_note=note, actor=actor, today=today)
        documents_deliver_later(credit_note_ids=[note.pk])
    return note


def credit_note_discard(*, credit_note: CreditNote, actor) -> None:
    """Delete a draft credit note (posted ones are kept forever)."""
    with transaction.atomic():
        note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
        _refuse_if_posted(note)
        if note.kind == CreditNote.Kind.AMENDMENT:
            raise InvalidTransition(_("An amendment credit comes from the contract's schedule; post it."))
        audit_record(obj=note, action="discarded", actor=actor, from_state=note.status, to_state="")
        note.lines.all().delete()
        note.delete()


# Payments, a later stage, owns applying and refunding credit notes (its `Allocation` and `Refund`
# rows, `/credit-note-balances/{id}/allocate/`). DESIGN §2: dependencies point one way, so it plugs
# in here: what its rows use of a credit note, and how a posted credit note is applied to the
# invoice it corrects (up to what is open there; the rest stays open credit).
CREDIT_NOTE_USED_BY: list[Callable[[int], Decimal]] = []
CREDIT_NOTE_APPLY_ON_POST: list[Callable[..., object]] = []


def credit_note_unallocated_amount(credit_note_id: int) -> Decimal:
    """What is left of a posted credit note: its total less what later stages applied or refunded."""
    note = CreditNote.objects.get(pk=credit_note_id)
    used = sum((used_by(credit_note_id) for used_by in CREDIT_NOTE_USED_BY), ZERO)
    return note.total_amount - used


def payment_status_for(*, total_amount: Decimal, open_amount: Decimal) -> str:
    """Paid when nothing is left open (a zero invoice is paid), partially paid when something was settled."""
    if open_amount <= 0:
        return PaymentStatus.PAID
    return PaymentStatus.PARTIALLY_PAID if open_amount < total_amount else PaymentStatus.UNPAID


def invoice_settle(*, invoice_id: int, amount: Decimal) -> None:
    """Take `amount` off the invoice's open amount (a negative amount gives it back) and set its status.

    Called by every writer of an allocation row, in the same transaction, after it locked the invoice.
    One UPDATE computes both columns from the row's current values, so two settlements can never
    overwrite each other; the CHECK constraint refuses a balance below 0 or above the total.
    """
    # Rounded in SQL: SQLite does decimal arithmetic in floating point, and "paid" must mean exactly 0.
    left = Round(F("open_amount") - Value(amount), 6)
    updated = Invoice.objects.filter(pk=invoice_id).update(open_amount=left, payment_status=_status(left))
    assert updated == 1, f"invoice {invoice_id} not found"


def invoices_settle(*, amounts: dict[int, Decimal]) -> None:
    """`invoice_settle` for many invoices (a bank statement's batch of payments): one UPDATE of the balances,
    then one of the statuses from the new balances (the per-invoice amounts are compiled once, not thrice)."""
    if not amounts:
        return
    field = Invoice._meta.get_field("open_amount")
    taken = Case(*(When(pk=pk, then=Value(amount)) for pk, amount in amounts.items()), output_field=field)
    invoices = Invoice.objects.filter(pk__in=list(amounts))
    updated = invoices.update(open_amount=Round(F("open_amount") - taken, 6))
    assert updated == len(amounts), f"invoices {sorted(amounts)} not all found"
    invoices.update(payment_status=_status(F("open_amount")))


def _status(left) -> Case:
    """`payment_status_for` in SQL, for the balance expression `left`."""
    return Case(
        When(LessThanOrEqual(left, Value(ZERO)), then=Value(PaymentStatus.PAID)),
        When(LessThan(left, F("total_amount")), then=Value(PaymentStatus.PARTIALLY_PAID)),
        default=Value(PaymentStatus.UNPAID),
    )


def invoice_cancel_and_rebill(*, invoice: Invoice, actor, today: dt.date | None = None, reason: str = "") -> tuple[CreditNote | None, list[Invoice]]:
    """Credit the whole posted invoice, put its periods back to "to bill" and bill them again as a new
    draft. Bulk statements throughout, so it works for invoices of any size."""
    today = today or clock.today()
    with transaction.atomic():
        # The account lock keeps invoice runs off this account until we commit.
        Account.objects.select_for_update().filter(pk=invoice.account_id).first()
        invoice = _open_invoice(invoice.pk)
        if CreditNote.objects.filter(invoice=invoice, status=CreditNote.Status.DRAFT).exists():
            raise InvalidTransition(_("Post or discard the draft credit note of %(number)s first.") % {"number": invoice})
        entry_ids = [e for e in invoice.lines.values_list("schedule_entry_id", flat=True) if e]
        note = credit_note_create(
            invoice=invoice, lines=None, reason=reason or _("Cancel & rebill of %(number)s") % {"number": invoice},
            actor=actor, kind=CreditNote.Kind.REBILL,
        ) if _has_uncredited(invoice.pk) else None
        if note is not None:
            note = credit_note_post(credit_note=note, actor=actor, today=today)
        Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.CANCELLED, cancelled_at=clock.now())
        # The old lines stop holding their entries; the entries can be billed again.
        InvoiceLine.objects.filter(invoice=invoice).update(billing_key=None)
        entries_mark_unbilled(entry_ids=entry_ids, actor=actor)
        audit_record(obj=invoice, action="cancelled", actor=actor, from_state=Invoice.Status.POSTED,
                     to_state=Invoice.Status.CANCELLED, message=_("Cancel & rebill"))
        new = _bill_entries(account_id=invoice.account_id, entry_ids=entry_ids, target=invoice.target_date or today,
                            run_id=None, invoice_date=today, actor=actor, rebill_of=invoice) if entry_ids else []
    return note, new


def _has_uncredited(invoice_id: int) -> bool:
    credited = credited_by_line(invoice_id)
    return any(
        line["net_amount"] - credited.get(line["id"], (ZERO, ZERO))[0] > 0
        for line in InvoiceLine.objects.filter(invoice_id=invoice_id).values("id", "net_amount")
    )
