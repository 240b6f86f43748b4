"""A posted invoice or credit note is frozen in the database itself: raw SQL cannot change what a
reader of the document sees, nor move lines in or out of it (PostgreSQL triggers).

Run with: DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_x DEBUG=1 .venv/bin/pytest invoicing/tests/test_frozen_documents.py
"""

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models.deletion import ProtectedError

from billing_site.roles import Role
from conftest import make_user
from invoicing import services
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from invoicing.tests.factories import AccountFactory, make_catalog

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql", reason="needs PostgreSQL"),
]


def _draft(account, entity, label):
    invoice = Invoice.objects.create(account=account, legal_entity=entity, currency="EUR", total_amount=Decimal("12.00"),
                                     subtotal_amount=Decimal("10.00"), tax_amount=Decimal("2.00"), payment_terms_days=30)
    InvoiceLine.objects.create(invoice=invoice, source="manual", description=label, quantity=1, unit_price=10,
                               net_amount=Decimal("10.00"), tax_rate_percent=Decimal("20"), tax_label="VAT 20%",
                               tax_amount=Decimal("2.00"), total_amount=Decimal("12.00"), factor_display="1/1 = 1.000000",
                               billing_key=None)
    return invoice


@pytest.fixture
def documents():
    catalog = make_catalog()
    account = AccountFactory()
    clerk = make_user("clerk", Role.FINANCE)
    posted = services.invoice_post(invoice=_draft(account, catalog.entity, "Posted"), actor=clerk, today=date(2025, 1, 31))
    draft = _draft(account, catalog.entity, "Draft")
    note = services.credit_note_post(
        credit_note=services.credit_note_create(invoice=posted, lines=None, reason="Returned", actor=clerk),
        actor=clerk, today=date(2025, 2, 1),
    )
    other = services.invoice_post(invoice=_draft(account, catalog.entity, "Other"), actor=clerk, today=date(2025, 2, 2))
    draft_note = services.credit_note_create(invoice=other, lines=None, reason="Draft credit", actor=clerk)
    return {"posted": posted, "draft": draft, "note": note, "draft_note": draft_note, "clerk": clerk,
            "intruder": make_user("intruder", Role.FINANCE)}


def _sql(statement, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


REFUSED = {
    "a draft's line moved into a posted invoice":
        lambda d: ("UPDATE invoicing_invoiceline SET invoice_id = %s WHERE invoice_id = %s", [d["posted"].pk, d["draft"].pk]),
    "a posted invoice's line moved into a draft":
        lambda d: ("UPDATE invoicing_invoiceline SET invoice_id = %s WHERE invoice_id = %s", [d["draft"].pk, d["posted"].pk]),
    "tax label of a posted line":
        lambda d: ("UPDATE invoicing_invoiceline SET tax_label = 'VAT 0%%' WHERE invoice_id = %s", [d["posted"].pk]),
    "proration shown on a posted line":
        lambda d: ("UPDATE invoicing_invoiceline SET factor_display = '1/2 = 0.500000' WHERE invoice_id = %s", [d["posted"].pk]),
    "billing key of a posted line set to another entry":
        lambda d: ("UPDATE invoicing_invoiceline SET billing_key = 424242 WHERE invoice_id = %s", [d["posted"].pk]),
    "language of a posted invoice":
        lambda d: ("UPDATE invoicing_invoice SET language = 'fr' WHERE id = %s", [d["posted"].pk]),
    "who posted an invoice":
        lambda d: ("UPDATE invoicing_invoice SET posted_by_id = %s WHERE id = %s", [d["intruder"].pk, d["posted"].pk]),
    "creation instant of a posted invoice":
        lambda d: ("UPDATE invoicing_invoice SET created_at = now() - interval '1 year' WHERE id = %s", [d["posted"].pk]),
    "a line moved out of a posted credit note":
        lambda d: ("UPDATE invoicing_creditnoteline SET credit_note_id = %s WHERE credit_note_id = %s", [d["draft_note"].pk, d["note"].pk]),
    "a draft credit line moved into a posted credit note":
        lambda d: ("UPDATE invoicing_creditnoteline SET credit_note_id = %s WHERE credit_note_id = %s", [d["note"].pk, d["draft_note"].pk]),
    "tax label of a posted credit line":
        lambda d: ("UPDATE invoicing_creditnoteline SET tax_label = 'none' WHERE credit_note_id = %s", [d["note"].pk]),
    "period of a posted credit line":
        lambda d: ("UPDATE invoicing_creditnoteline SET period_start = '2020-01-01' WHERE credit_note_id = %s", [d["note"].pk]),
    "language of a posted credit note":
        lambda d: ("UPDATE invoicing_creditnote SET language = 'fr' WHERE id = %s", [d["note"].pk]),
    "reason of a posted credit note":
        lambda d: ("UPDATE invoicing_creditnote SET reason = 'Goodwill' WHERE id = %s", [d["note"].pk]),
    "who posted a credit note":
        lambda d: ("UPDATE invoicing_creditnote SET posted_by_id = %s WHERE id = %s", [d["intruder"].pk, d["note"].pk]),
}


@pytest.mark.parametrize("attempt", list(REFUSED))
def test_raw_sql_cannot_change_a_posted_document(documents, attempt):
    statement, params = REFUSED[attempt](documents)
    with pytest.raises(DatabaseError, match="posted"):
        _sql(statement, params)


def test_what_may_still_change_on_posted_documents(documents):
    posted, note = documents["posted"], documents["note"]
    _sql("UPDATE invoicing_invoice SET pdf = 'a.pdf', sent_at = now() WHERE id = %s", [posted.pk])
    _sql("UPDATE invoicing_creditnote SET pdf = 'b.pdf', sent_at = now() WHERE id = %s", [note.pk])
    _sql("UPDATE invoicing_invoice SET status = 'cancelled', cancelled_at = now() WHERE id = %s", [posted.pk])
    _sql("UPDATE invoicing_invoiceline SET billing_key = NULL WHERE invoice_id = %s", [posted.pk])
    # A draft stays a draft: its lines move and change freely between drafts.
    _sql("UPDATE invoicing_invoiceline SET tax_label = 'VAT 5.5%%' WHERE invoice_id = %s", [documents["draft"].pk])
    # Once cancelled, the cancellation instant is frozen too.
    with pytest.raises(DatabaseError, match="posted"):
        _sql("UPDATE invoicing_invoice SET cancelled_at = now() - interval '1 day' WHERE id = %s", [posted.pk])
    assert CreditNoteLine.objects.filter(credit_note=note).count() == 1
    assert CreditNote.objects.get(pk=note.pk).pdf.name == "b.pdf"


def test_a_user_who_posted_documents_cannot_be_deleted(documents):
    with pytest.raises(ProtectedError):
        documents["clerk"].delete()
