"""Many received payments at once, each allocated to its invoices: what a bank statement's matched lines become.

`receipts_record` writes, for a batch, exactly what `payment_record` then `payment_allocate` write for one
payment (the payment, its allocation rows, the invoices' balances through `invoices_settle`, the audit
entries and the `payment.received` / `invoice.paid` events), with a few statements per batch instead of
twenty round trips per payment. Same locking rule: the invoices first, in id order, and their open
balances re-read inside the lock; what an invoice no longer has open stays unapplied on the payment.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing_site.audit import audit_note, choice_param, money_param, render_note
from billing_site.errors import ValidationFailed
from billing_site.events import events_record_many, fields_of
from billing_site.limits import date_error
from billing_site.models import AuditLog
from billing_site.money import ZERO, round_money
from invoicing.models import Invoice
from invoicing.services import invoices_settle
from payments.models import Allocation, Payment, PaymentMethodKind
from payments.services._common import actor_label, clean_amount, clean_currency, lock_invoices


@dataclass(frozen=True)
class Receipt:
    """Money received from an account, to allocate to these invoices in this order (any rest stays unapplied)."""

    account_id: int
    currency: str
    amount: Decimal
    received_date: dt.date
    invoice_ids: tuple[int, ...]
    reference: str = ""
    notes: str = ""


def _audit_row(*, obj, action: str, actor, label: str, note: dict, data: dict | None = None, to_state: str = "") -> AuditLog:
    # The row `billing_site.audit.audit_record` writes, built for one bulk INSERT.
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditLog(actor=user, actor_label=(label or (user.get_username() if user else "system"))[:150],
                    object_type=obj._meta.label_lower, object_id=str(obj.pk), object_repr=str(obj)[:200], action=action,
                    to_state=to_state, message=render_note(note), data={**(data or {}), "note": note})


def _clean(receipt: Receipt, today: dt.date) -> Receipt:
    errors = {}
    currency = clean_currency(receipt.currency)
    amount = clean_amount(receipt.amount, currency)
    if receipt.received_date > today:
        errors["received_date"] = [_("The payment cannot be received in the future.")]
    elif error := date_error(receipt.received_date, today):
        errors["received_date"] = [error]
    if errors:
        raise ValidationFailed(fields=errors)
    return Receipt(receipt.account_id, currency, amount, receipt.received_date, receipt.invoice_ids, receipt.reference, receipt.notes)


@transaction.atomic
def receipts_record(
    *, receipts: list[Receipt], today: dt.date, actor=None, actor_name: str = "",
    method: str = PaymentMethodKind.BANK_TRANSFER, source: str = Payment.Source.BANK,
) -> list[Payment]:
    """Record received payments and allocate each to its invoices in order; returns the payments, in order."""
    receipts = [_clean(r, today) for r in receipts]
    if not receipts:
        return []
    invoices = {i.pk: i for i in lock_invoices({pk for r in receipts for pk in r.invoice_ids})}
    open_now = {pk: round_money(i.open_amount, i.currency) for pk, i in invoices.items()}
    user = actor if getattr(actor, "is_authenticated", False) else None
    label = actor_label(actor, actor_name)
    payments, plans = [], []
    for r in receipts:
        left, plan = r.amount, []
        for pk in r.invoice_ids:
            invoice = invoices.get(pk)
            if invoice is None or invoice.status != Invoice.Status.POSTED or invoice.account_id != r.account_id or invoice.currency != r.currency:
                raise ValidationFailed(fields={"invoice": _("Only posted invoices of the paying account, in its currency, can be paid.")})
            take = min(left, open_now[pk])
            if take > 0:
                plan.append((invoice, take))
                open_now[pk] -= take
                left -= take
        allocated = r.amount - left
        payments.append(Payment(
            account_id=r.account_id, currency=r.currency, amount=r.amount, received_date=r.received_date, method=method,
            reference=(r.reference or "").strip()[:140], notes=r.notes or "", source=source, allocated_amount=allocated,
            unapplied_amount=round_money(left, r.currency), created_by=user,
        ))
        plans.append(plan)
    Payment.objects.bulk_create(payments)
    allocations = [
        Allocation(account_id=invoice.account_id, currency=invoice.currency, invoice=invoice, payment=payment, amount=amount,
                   allocated_date=today, created_by=user, actor_label=label)
        for payment, plan in zip(payments, plans, strict=True) for invoice, amount in plan
    ]
    Allocation.objects.bulk_create(allocations)
    settled: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for allocation in allocations:
        settled[allocation.invoice_id] += allocation.amount
    invoices_settle(amounts=dict(settled))
    audit: list[AuditLog] = []
    events: list[tuple[str, int | None, dict]] = []
    for payment in payments:
        note = audit_note(gettext_noop("%(amount)s received by %(method)s"), amount=money_param(payment.amount, payment.currency),
                          method=choice_param(Payment, "method", payment.method))
        audit.append(_audit_row(obj=payment, action="recorded", actor=actor, label=actor_name, note=note, to_state="received"))
        events.append(("payment.received", payment.account_id, fields_of(
            payment, "id", "currency", "amount", "received_date", "method", "reference", "source")))
    for allocation in allocations:
        invoice = allocation.invoice
        note = audit_note(gettext_noop("%(amount)s of payment no. %(source)s to %(invoice)s"),
                          amount=money_param(allocation.amount, invoice.currency), source=allocation.payment_id, invoice=invoice.number)
        audit.append(_audit_row(obj=allocation.payment, action="allocated", actor=actor, label=actor_name, note=note,
                                data={"invoice": invoice.pk, "amount": str(allocation.amount)}))
        audit.append(_audit_row(obj=invoice, action="payment_allocated", actor=actor, label=actor_name, note=note,
                                data={"allocation": allocation.pk, "amount": str(allocation.amount)}))
    AuditLog.objects.bulk_create(audit, batch_size=1000)
    for invoice_id in sorted(settled):
        if open_now[invoice_id] <= 0:
            invoice = invoices[invoice_id]
            events.append(("invoice.paid", invoice.account_id, fields_of(invoice, "id", "number", "currency", "total_amount")))
    events_record_many(events)
    return payments
