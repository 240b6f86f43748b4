"""Opening balances: the open invoices of the system Recur replaces, carried over as posted invoices.

An opening item is a posted invoice of kind "opening" with one line of the open amount and no tax
(the tax was declared by the old system). It keeps the old system's number, which is not taken from
Recur's gapless series: the series stays gapless and the two never meet unless the old numbers
used Recur's prefix, which the unique number per legal entity refuses.
"""

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import ValidationFailed
from billing_site.money import round_money, to_decimal
from catalog.models import LegalEntity
from customers.models import Account
from invoicing.models import Invoice, InvoiceLine, LineSource

MAX_NUMBER_CHARS = 32


def invoice_create_opening(
    *, account: Account, legal_entity: LegalEntity, number: str, invoice_date: dt.date, due_date: dt.date,
    open_amount, currency: str | None = None, actor, description: str = "",
) -> Invoice:
    """Record an open invoice of the previous system as a posted opening item of its open amount."""
    from invoicing.services.documents import _snapshot

    currency = currency or account.currency
    errors: dict[str, list[str]] = {}
    number = (number or "").strip()
    if not number:
        errors["number"] = [_("Enter the invoice number of the previous system.")]
    elif len(number) > MAX_NUMBER_CHARS:
        errors["number"] = [_("At most %(max)s characters.") % {"max": MAX_NUMBER_CHARS}]
    amount = to_decimal(open_amount)
    if amount <= 0:
        errors["open_amount"] = [_("The open amount must be greater than zero.")]
    elif round_money(amount, currency) != amount:
        errors["open_amount"] = [_("The amount must be rounded to the currency (%(currency)s).") % {"currency": currency}]
    if currency != account.currency:
        errors["currency"] = [
            _("The account is billed in %(account)s, not %(currency)s.") % {"account": account.currency, "currency": currency}
        ]
    if due_date < invoice_date:
        errors["due_date"] = [_("The due date is before the invoice date.")]
    if invoice_date > clock.today():
        errors["invoice_date"] = [_("An opening invoice cannot be dated in the future.")]
    if not errors and Invoice.objects.filter(legal_entity=legal_entity, number=number).exists():
        errors["number"] = [_("Invoice number %(number)s already exists for %(entity)s.") % {"number": number, "entity": legal_entity}]
    if errors:
        raise ValidationFailed(fields=errors)
    try:
        with transaction.atomic():
            # Written as a draft with its line, then posted in one update: posted invoices take no
            # new lines and keep their snapshot (the database's guard on PostgreSQL holds it too).
            invoice = Invoice.objects.create(
                account=account, legal_entity=legal_entity, currency=currency, kind=Invoice.Kind.OPENING,
                payment_terms_days=min(max((due_date - invoice_date).days, 0), 32767), language=account.language,
            )
            InvoiceLine.objects.create(
                invoice=invoice, position=1, source=LineSource.OPENING,
                description=(description or _("Opening balance of invoice %(number)s") % {"number": number})[:300],
                quantity=Decimal("1"), unit_price=amount, net_amount=amount, total_amount=amount,
            )
            invoice.snapshot = _snapshot(invoice)
            invoice.status, invoice.number, invoice.invoice_date, invoice.due_date = Invoice.Status.POSTED, number, invoice_date, due_date
            invoice.subtotal_amount, invoice.tax_amount, invoice.total_amount = amount, Decimal("0"), amount
            invoice.open_amount = amount  # nothing paid on it yet in Recur
            invoice.posted_at = clock.now()
            invoice.posted_by = actor if getattr(actor, "is_authenticated", False) else None
            invoice.save()
    except IntegrityError as exc:
        raise ValidationFailed(fields={"number": [_("Invoice number %(number)s already exists.") % {"number": number}]}) from exc
    audit_record(obj=invoice, action="opening_created", actor=actor, to_state=invoice.status,
                 data={"total": str(amount), "currency": currency})
    return invoice
