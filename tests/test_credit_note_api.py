"""A credit note is applied one way: through its balance (payments); its own representation shows what is open."""

import datetime as dt

import pytest

from payments.tests.factories import AccountFactory, posted_credit_note, posted_invoice

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 1, 15)


def test_apply_a_credit_note_through_its_balance_and_read_what_is_left(finance_api):
    account = AccountFactory(name="Acme")
    invoice = posted_invoice(account, ["100.00"], invoice_date=DAY, due_date=DAY + dt.timedelta(days=30))
    note = posted_credit_note(account, "30.00", credit_date=DAY)
    assert finance_api.get(f"/api/v1/credit-notes/{note.pk}/").json()["open_amount"] == "30.00"
    applied = finance_api.post(f"/api/v1/credit-note-balances/{note.pk}/allocate/", {"invoice": invoice.pk, "amount": "12.50"}, format="json")
    assert applied.status_code == 201, applied.json()
    assert applied.json()["amount"] == "12.50"
    assert finance_api.get(f"/api/v1/credit-notes/{note.pk}/").json()["open_amount"] == "17.50"
    # The second way is gone.
    assert finance_api.post(f"/api/v1/credit-notes/{note.pk}/allocate/", {"invoice": invoice.pk, "amount": "1"}, format="json").status_code == 404
