"""Starting states for payments tests: accounts, a legal entity, and posted invoices / credit notes.

The invoicing stage posts documents through its own services; until those exist for every test
need, `posted_invoice` writes a draft with its lines and then flips it to posted with a number and
dates, exactly the columns posting freezes (the PostgreSQL trigger allows draft → posted).
"""

import datetime as dt
import itertools
from decimal import Decimal

from catalog.models import LegalEntity
from customers.tests.factories import AccountFactory
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, LineSource

_numbers = itertools.count(1)

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
    invoice = Invoice.objects.create(
        account=account, legal_entity=legal_entity(), currency=currency, payment_terms_days=30, language=language,
    )
    total = Decimal("0")
    for position, amount in enumerate(lines, start=1):
        amount = Decimal(amount)
        InvoiceLine.objects.create(
            invoice=invoice, position=position, source=LineSource.ONE_TIME, description=f"Line {position}",
            quantity=Decimal("1"), unit_price=amount, net_amount=amount, total_amount=amount,
        )
        total += amount
    seq = next(_numbers)
    Invoice.objects.filter(pk=invoice.pk).update(
        status=Invoice.Status.POSTED, number=number or f"INV-{seq:06d}", sequence=seq, invoice_date=invoice_date,
        due_date=due_date or invoice_date + dt.timedelta(days=30), subtotal_amount=total, total_amount=total,
    )
    invoice.refresh_from_db()
    return invoice


def posted_credit_note(account, amount, *, credit_date: dt.date, invoice: Invoice | None = None,
                       kind: str = CreditNote.Kind.AMENDMENT) -> CreditNote:
    amount = Decimal(amount)
    note = CreditNote.objects.create(
        account=account, legal_entity=legal_entity(), currency=account.currency, invoice=invoice, kind=kind,
        reason="Amendment credit",
    )
    CreditNoteLine.objects.create(credit_note=note, position=1, source=LineSource.AMENDMENT_CREDIT, description="Credit",
                                  net_amount=amount, total_amount=amount)
    seq = next(_numbers)
    CreditNote.objects.filter(pk=note.pk).update(
        status=CreditNote.Status.POSTED, number=f"CN-{seq:06d}", sequence=seq, credit_date=credit_date,
        subtotal_amount=amount, total_amount=amount,
    )
    note.refresh_from_db()
    return note
