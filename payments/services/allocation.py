"""Payments received, their allocations to invoices, credit note allocations, and refunds.

Every write locks the invoice(s) first, then the payment or credit note (ids ascending), and checks
open balances again inside the lock: two clerks (or a clerk and the payment run) allocating at the
same time can never push an invoice below zero or a payment beyond its amount. The payment's
running figures also sit under CHECK constraints, the database's last word.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing_site.audit import audit_note, audit_record, choice_param, money_param
from billing_site.errors import InvalidTransition, ValidationFailed
from billing_site.events import event_record, fields_of
from billing_site.limits import date_error
from billing_site.money import ZERO, format_money, round_money
from customers.models import Account
from invoicing.models import CreditNote, Invoice, InvoiceLine
from invoicing.services import invoice_settle
from payments.models import Allocation, Payment, PaymentMethodKind, Refund
from payments.selectors.balances import (
    credit_note_balance,
    invoice_balance,
    line_balance,
    net_allocations,
    open_invoices,
)
from payments.services._common import actor_label, clean_amount, clean_currency, lock_invoices


@transaction.atomic
def payment_record(
    *,
    account: Account,
    amount,
    currency: str,
    received_date: dt.date,
    method: str,
    today: dt.date,
    actor=None,
    reference: str = "",
    notes: str = "",
    source: str = Payment.Source.MANUAL,
    gateway_transaction_id: str = "",
    auto_allocate: bool = False,
    actor_name: str = "",
) -> Payment:
    """Record money received from an account; optionally allocate it to open invoices, oldest due first."""
    errors = {}
    try:
        currency = clean_currency(currency)
        amount = clean_amount(amount, currency)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if method not in PaymentMethodKind.values:
        errors["method"] = [_("Choose a payment method.")]
    if received_date is None:
        errors["received_date"] = [_("Enter the date the money was received.")]
    elif received_date > today:
        errors["received_date"] = [_("The payment cannot be received in the future.")]
    elif error := date_error(received_date, today):
        errors["received_date"] = [error]
    if errors:
        raise ValidationFailed(fields=errors)
    payment = Payment.objects.create(
        account=account, currency=currency, amount=amount, received_date=received_date, method=method,
        reference=(reference or "").strip()[:140], notes=notes or "", source=source,
        gateway_transaction_id=gateway_transaction_id, unapplied_amount=amount,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(
        obj=payment, action="recorded", actor=actor, actor_label=actor_name, to_state="received",
        note=audit_note(gettext_noop("%(amount)s received by %(method)s"), amount=money_param(amount, currency),
                        method=choice_param(Payment, "method", method)),
    )
    event_record(type="payment.received", account_id=account.pk, payload=fields_of(
        payment, "id", "currency", "amount", "received_date", "method", "reference", "source"))
    if auto_allocate:
        payment_auto_allocate(payment=payment, actor=actor, today=today, actor_name=actor_name)
        payment.refresh_from_db()
    return payment


def _check_target(*, invoice: Invoice, account_id: int, currency: str) -> None:
    if invoice.status != Invoice.Status.POSTED:
        raise InvalidTransition(_("Only posted invoices can receive payments or credits."))
    if invoice.account_id != account_id:
        raise ValidationFailed(fields={"invoice": _("This invoice belongs to another account.")})
    if invoice.currency != currency:
        raise ValidationFailed(
            fields={"invoice": _("The invoice is in %(invoice)s and this is in %(source)s: one currency per allocation.")
                    % {"invoice": invoice.currency, "source": currency}}
        )


def _check_line(*, invoice: Invoice, invoice_line: InvoiceLine | None, amount: Decimal) -> None:
    if invoice_line is None:
        return
    if invoice_line.invoice_id != invoice.pk:
        raise ValidationFailed(fields={"invoice_line": _("This line is not on the invoice.")})
    open_line = line_balance(invoice_line=invoice_line)
    if amount > open_line:
        raise ValidationFailed(
            fields={"amount": _("Only %(open)s is open on this line.") % {"open": format_money(open_line, invoice.currency)}}
        )


def _allocate(*, source, invoice: Invoice, amount: Decimal, today: dt.date, actor, actor_name: str,
              invoice_line: InvoiceLine | None = None, reason: str = "") -> Allocation:
    """Write one allocation row (the caller holds the locks and has checked the balances)."""
    is_payment = isinstance(source, Payment)
    allocation = Allocation.objects.create(
        account_id=invoice.account_id, currency=invoice.currency, invoice=invoice, invoice_line=invoice_line,
        payment=source if is_payment else None, credit_note=None if is_payment else source,
        amount=amount, allocated_date=today, reason=reason,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label(actor, actor_name),
    )
    invoice_settle(invoice_id=invoice.pk, amount=amount)
    if is_payment:
        source.allocated_amount = round_money(source.allocated_amount + amount, source.currency)
        source.unapplied_amount = round_money(source.unapplied_amount - amount, source.currency)
        source.save(update_fields=["allocated_amount", "unapplied_amount"])
    action = "allocated" if amount > 0 else "unallocated"
    if is_payment:
        text = audit_note(gettext_noop("%(amount)s of payment no. %(source)s to %(invoice)s"),
                          amount=money_param(abs(amount), invoice.currency), source=source.pk, invoice=invoice.number)
    else:
        text = audit_note(gettext_noop("%(amount)s of credit note %(source)s to %(invoice)s"),
                          amount=money_param(abs(amount), invoice.currency), source=source.number, invoice=invoice.number)
    audit_record(obj=source, action=action, actor=actor, actor_label=actor_name, note=text,
                 data={"invoice": invoice.pk, "amount": str(amount)})
    audit_record(obj=invoice, action=f"payment_{action}", actor=actor, actor_label=actor_name, note=text,
                 data={"allocation": allocation.pk, "amount": str(amount)})
    if amount > 0 and invoice_balance(invoice) <= 0:
        event_record(type="invoice.paid", account_id=invoice.account_id, payload=fields_of(invoice, "id", "number", "currency", "total_amount"))
    return allocation


@transaction.atomic
def payment_allocate(
    *, payment: Payment, invoice: Invoice, amount, today: dt.date, actor=None,
    invoice_line: InvoiceLine | None = None, actor_name: str = "",
) -> Allocation:
    """Apply part of a payment's unapplied amount to a posted invoice (or one of its lines)."""
    [invoice] = lock_invoices([invoice.pk])
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    _check_target(invoice=invoice, account_id=payment.account_id, currency=payment.currency)
    amount = clean_amount(amount, payment.currency)
    if amount > payment.unapplied_amount:
        raise ValidationFailed(
            fields={"amount": _("Only %(open)s of this payment is unapplied.") % {"open": format_money(payment.unapplied_amount, payment.currency)}}
        )
    open_amount = invoice_balance(invoice)
    if amount > open_amount:
        raise ValidationFailed(
            fields={"amount": _("Only %(open)s is open on invoice %(invoice)s.") % {"open": format_money(open_amount, invoice.currency), "invoice": invoice}}
        )
    _check_line(invoice=invoice, invoice_line=invoice_line, amount=amount)
    return _allocate(source=payment, invoice=invoice, amount=amount, today=today, actor=actor,
                     actor_name=actor_name, invoice_line=invoice_line)


@transaction.atomic
def payment_auto_allocate(*, payment: Payment, today: dt.date, actor=None, actor_name: str = "") -> list[Allocation]:
    """Spread a payment's unapplied amount over the account's open invoices, oldest due first."""
    candidates = list(open_invoices(account=payment.account, currency=payment.currency).values_list("pk", flat=True))
    invoices = {i.pk: i for i in lock_invoices(candidates)}
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    out = []
    # Re-read the balances inside the locks, in due-date order.
    for invoice in open_invoices(account=payment.account, currency=payment.currency).filter(pk__in=candidates):
        if payment.unapplied_amount <= 0:
            break
        amount = min(payment.unapplied_amount, round_money(invoice.open_amount, invoice.currency))
        if amount > 0:
            out.append(_allocate(source=payment, invoice=invoices[invoice.pk], amount=amount, today=today,
                                 actor=actor, actor_name=actor_name, reason="auto"))
    return out


@transaction.atomic
def payment_unallocate(
    *, payment: Payment, invoice: Invoice, today: dt.date, actor=None, amount=None,
    invoice_line: InvoiceLine | None = None, actor_name: str = "", reason: str = "",
) -> list[Allocation]:
    """Take back (part of) what a payment applied to an invoice: new negative rows, nothing deleted."""
    [invoice] = lock_invoices([invoice.pk])
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    groups = net_allocations(invoice=invoice, payment=payment)
    return _take_back(source=payment, invoice=invoice, groups=groups, amount=amount, today=today, actor=actor,
                      invoice_line=invoice_line, actor_name=actor_name, reason=reason)


def _take_back(*, source, invoice, groups, amount, today, actor, invoice_line, actor_name, reason) -> list[Allocation]:
    if invoice_line is not None:
        groups = [(line, net) for line, net in groups if line == invoice_line.pk]
    applied = sum((net for _line, net in groups), ZERO)
    if applied <= 0:
        raise ValidationFailed(fields={"invoice": _("Nothing of %(source)s is allocated to %(invoice)s.") % {"source": source, "invoice": invoice}})
    amount = applied if amount in (None, "") else clean_amount(amount, invoice.currency)
    if amount > applied:
        raise ValidationFailed(
            fields={"amount": _("Only %(applied)s is allocated to this invoice.") % {"applied": format_money(applied, invoice.currency)}}
        )
    out, left = [], amount
    # Invoice-level allocations are taken back first, then line by line.
    for line_id, net in sorted(groups, key=lambda g: (g[0] is not None, g[0] or 0)):
        if left <= 0:
            break
        take = min(net, left)
        line = InvoiceLine.objects.get(pk=line_id) if line_id else None
        out.append(_allocate(source=source, invoice=invoice, amount=-take, today=today, actor=actor,
                             actor_name=actor_name, invoice_line=line, reason=reason or "unallocate"))
        left -= take
    return out


def _check_credit_note(credit_note: CreditNote) -> None:
    if credit_note.status != CreditNote.Status.POSTED:
        raise InvalidTransition(_("Only posted credit notes can be allocated or refunded."))


@transaction.atomic
def credit_note_allocate(
    *, credit_note: CreditNote, invoice: Invoice, amount, today: dt.date, actor=None,
    invoice_line: InvoiceLine | None = None, actor_name: str = "",
) -> Allocation:
    """Apply part of a posted credit note's open balance to a posted invoice of the same account."""
    [invoice] = lock_invoices([invoice.pk])
    credit_note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
    _check_credit_note(credit_note)
    _check_target(invoice=invoice, account_id=credit_note.account_id, currency=credit_note.currency)
    amount = clean_amount(amount, credit_note.currency)
    available = credit_note_balance(credit_note)
    if amount > available:
        raise ValidationFailed(
            fields={"amount": _("Only %(open)s of this credit note is available.") % {"open": format_money(available, credit_note.currency)}}
        )
    open_amount = invoice_balance(invoice)
    if amount > open_amount:
        raise ValidationFailed(
            fields={"amount": _("Only %(open)s is open on invoice %(invoice)s.") % {"open": format_money(open_amount, invoice.currency), "invoice": invoice}}
        )
    _check_line(invoice=invoice, invoice_line=invoice_line, amount=amount)
    return _allocate(source=credit_note, invoice=invoice, amount=amount, today=today, actor=actor,
                     actor_name=actor_name, invoice_line=invoice_line)


def credit_note_apply_posted(*, credit_note: CreditNote, actor=None, today: dt.date) -> Allocation | None:
    """Apply a credit note just posted against an invoice to that invoice, up to what is open there.

    Invoicing calls it in the posting transaction (it registers in `PaymentsConfig.ready`), so a
    credit note has one way to be applied: these rows. What the invoice cannot take stays open credit.
    """
    if credit_note.invoice_id is None:
        return None
    [invoice] = lock_invoices([credit_note.invoice_id])
    amount = min(credit_note_balance(credit_note), invoice_balance(invoice))
    if amount <= 0:
        return None
    return credit_note_allocate(credit_note=credit_note, invoice=invoice, amount=amount, today=today, actor=actor)


@transaction.atomic
def credit_note_unallocate(
    *, credit_note: CreditNote, invoice: Invoice, today: dt.date, actor=None, amount=None, actor_name: str = "",
) -> list[Allocation]:
    """Take back what a credit note applied to an invoice (new negative rows)."""
    [invoice] = lock_invoices([invoice.pk])
    credit_note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
    groups = net_allocations(invoice=invoice, credit_note=credit_note)
    return _take_back(source=credit_note, invoice=invoice, groups=groups, amount=amount, today=today, actor=actor,
                      invoice_line=None, actor_name=actor_name, reason="unallocate")


@transaction.atomic
def payment_refund(
    *, payment: Payment, amount, today: dt.date, actor=None, reason: str = "", actor_name: str = "",
) -> Refund:
    """Give back part of a payment's unapplied amount; a gateway payment is refunded at the gateway."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    amount = clean_amount(amount, payment.currency)
    if amount > payment.unapplied_amount:
        raise ValidationFailed(
            fields={"amount": _("Only %(open)s of this payment is unapplied: unallocate it first to refund more.")
                    % {"open": format_money(payment.unapplied_amount, payment.currency)}}
        )
    refund = Refund.objects.create(
        account=payment.account, currency=payment.currency, payment=payment, amount=amount, refund_date=today,
        method=payment.method, reason=reason[:200], created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if payment.gateway_transaction_id:
        _refund_at_gateway(refund=refund, payment=payment)
    payment.refunded_amount = round_money(payment.refunded_amount + amount, payment.currency)
    payment.unapplied_amount = round_money(payment.unapplied_amount - amount, payment.currency)
    payment.save(update_fields=["refunded_amount", "unapplied_amount"])
    audit_record(obj=payment, action="refunded", actor=actor, actor_label=actor_name,
                 message=_("%(amount)s refunded") % {"amount": format_money(amount, payment.currency)}, data={"refund": refund.pk})
    event_record(type="payment.refunded", account_id=payment.account_id, payload={
        **fields_of(payment, "id", "currency", "refunded_amount"), **fields_of(refund, "amount", "refund_date", "reason"), "refund_id": refund.pk})
    return refund


def _refund_at_gateway(*, refund: Refund, payment: Payment) -> None:
    from payments.gateway import GatewayError, gateway_for

    method = getattr(getattr(payment, "attempt", None), "payment_method", None)
    gateway = gateway_for(method.gateway if method else "sandbox")
    try:
        # The refund row's id makes the key: a retried request refunds once.
        result = gateway.refund(transaction_id=payment.gateway_transaction_id, amount=refund.amount,
                                currency=payment.currency, idempotency_key=f"refund-{refund.pk}")
    except GatewayError as exc:
        raise ValidationFailed(_("The payment gateway could not refund: %(error)s") % {"error": exc}) from exc
    if not result.approved:
        raise ValidationFailed(_("The payment gateway refused the refund: %(message)s") % {"message": result.message})
    refund.gateway_transaction_id = result.transaction_id
    refund.save(update_fields=["gateway_transaction_id"])


@transaction.atomic
def credit_note_refund(
    *, credit_note: CreditNote, amount, today: dt.date, method: str = PaymentMethodKind.BANK_TRANSFER,
    actor=None, reason: str = "", actor_name: str = "",
) -> Refund:
    """Pay out part of a posted credit note's open balance to the customer."""
    credit_note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
    _check_credit_note(credit_note)
    amount = clean_amount(amount, credit_note.currency)
    available = credit_note_balance(credit_note)
    if amount > available:
        raise ValidationFailed(
            fields={"amount": _("Only %(open)s of this credit note is available.") % {"open": format_money(available, credit_note.currency)}}
        )
    if method not in PaymentMethodKind.values:
        raise ValidationFailed(fields={"method": _("Choose a payment method.")})
    refund = Refund.objects.create(
        account=credit_note.account, currency=credit_note.currency, credit_note=credit_note, amount=amount,
        refund_date=today, method=method, reason=reason[:200],
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(obj=credit_note, action="refunded", actor=actor, actor_label=actor_name,
                 message=_("%(amount)s refunded") % {"amount": format_money(amount, credit_note.currency)}, data={"refund": refund.pk})
    return refund
