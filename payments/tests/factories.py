"""Starting states for payments tests: accounts, a legal entity, and posted invoices / credit notes.

Invoices are posted through invoicing's own `invoice_post`, and credit notes against an invoice
through `credit_note_create` + `credit_note_post`. A credit note without an invoice (as a run issues
for an amendment credit) is written as a draft and flipped to posted with the columns posting freezes.
"""

import datetime as dt
from decimal import Decimal

from django.db import transaction

from catalog.models import LegalEntity
from customers.tests.factories import AccountFactory
from invoicing.models import (
    CreditNote,
    CreditNoteLine,
    DocumentType,
    Invoice,
    InvoiceLine,
    LineSource,
    NumberSeries,
)
from invoicing.services.documents import credit_note_create, credit_note_post, invoice_post
from invoicing.services.numbering import numbers_take, series_ensure

__all__ = ["AccountFactory", "legal_entity", "posted_credit_note", "posted_invoice"]


def legal_entity() -> LegalEntity:
    entity, _created = LegalEntity.objects.get_or_create(
        name="Recur Demo SAS", defaults={"country": "FR", "currency": "EUR", "invoice_prefix": "INV-", "credit_note_prefix": "CN-"}
    )
    return entity


def posted_invoice(account, lines, *, invoice_date: dt.date, due_date: dt.date | None = None, currency: str | None = None,
                   number: str | None = None, language: str = "en") -> Invoice:
    """A posted invoice with one line per total in `lines` (amounts with tax, no tax split)."""
    currency = currency or account.currency
    terms = (due_date - invoice_date).days if due_date else 30
    entity = legal_entity()
    invoice = Invoice.objects.create(
        account=account, legal_entity=entity, currency=currency, payment_terms_days=terms, language=language,
    )
    for position, amount in enumerate(lines, start=1):
        amount = Decimal(amount)
        InvoiceLine.objects.create(
            invoice=invoice, position=position, source=LineSource.ONE_TIME, description=f"Line {position}",
            quantity=Decimal("1"), unit_price=amount, net_amount=amount, total_amount=amount,
        )
    series = series_ensure(legal_entity_id=entity.pk, document_type=DocumentType.INVOICE)
    if number:
        # A test that needs a given number (bank references) moves the series to it first.
        NumberSeries.objects.filter(pk=series.pk).update(next_number=int(number.removeprefix(series.prefix)))
    invoice = invoice_post(invoice=invoice, actor=None, today=invoice_date, invoice_date=invoice_date)
    assert number is None or invoice.number == number
    return invoice


def posted_credit_note(account, amount, *, credit_date: dt.date, invoice: Invoice | None = None,
                       kind: str = CreditNote.Kind.AMENDMENT) -> CreditNote:
    amount = Decimal(amount)
    if invoice is not None:
        line = invoice.lines.order_by("position").first()
        draft = credit_note_create(invoice=invoice, lines={line.pk: amount}, reason="Amendment credit", actor=None)
        return credit_note_post(credit_note=draft, actor=None, today=credit_date)
    note = CreditNote.objects.create(
        account=account, legal_entity=legal_entity(), currency=account.currency, invoice=invoice, kind=kind,
        reason="Amendment credit",
    )
    CreditNoteLine.objects.create(credit_note=note, position=1, source=LineSource.AMENDMENT_CREDIT, description="Credit",
                                  net_amount=amount, total_amount=amount)
    # The series' next number, so these and credit notes posted by the service never collide.
    with transaction.atomic():
        series, seq = numbers_take(legal_entity_id=note.legal_entity_id, document_type=DocumentType.CREDIT_NOTE)
    CreditNote.objects.filter(pk=note.pk).update(
        status=CreditNote.Status.POSTED, number=series.format(seq), sequence=seq, credit_date=credit_date,
        subtotal_amount=amount, total_amount=amount,
    )
    note.refresh_from_db()
    return note
