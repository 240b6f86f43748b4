"""Services record domain events in their own transaction; clients poll them through the API."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import transaction

from billing_site.events import event_record
from billing_site.models import Event
from customers.services import account_set_credit_hold
from payments import services as payments
from payments.tests.factories import AccountFactory, posted_invoice

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 1, 15)


def _bodies():
    return [(e.type, e.account_id, e.payload) for e in Event.objects.order_by("id")]


def test_credit_hold_records_an_event(finance_user):
    account = AccountFactory(name="Acme")
    account_set_credit_hold(account=account, actor=finance_user, hold=True, reason="Two invoices overdue")
    assert _bodies() == [("account.credit_hold_changed", account.pk, {
        "id": account.pk, "number": account.number, "credit_hold": True, "reason": "Two invoices overdue"})]


def test_posting_and_paying_an_invoice_record_their_events():
    account = AccountFactory(name="Acme")
    invoice = posted_invoice(account, ["100.00", "20.50"], invoice_date=DAY, due_date=DAY + dt.timedelta(days=30))
    payment = payments.payment_record(account=account, amount=D("120.50"), currency="EUR", received_date=DAY,
                                      method="check", today=DAY, auto_allocate=True)
    assert _bodies() == [
        ("invoice.posted", account.pk, {
            "id": invoice.pk, "number": invoice.number, "status": "posted", "currency": "EUR",
            "invoice_date": "2026-01-15", "due_date": "2026-02-14", "subtotal_amount": "120.50",
            "tax_amount": "0.00", "total_amount": "120.50", "contract_id": None}),
        ("payment.received", account.pk, {
            "id": payment.pk, "currency": "EUR", "amount": "120.50", "received_date": "2026-01-15",
            "method": "check", "reference": "", "source": "manual"}),
        ("invoice.paid", account.pk, {"id": invoice.pk, "number": invoice.number, "currency": "EUR", "total_amount": "120.50"}),
    ]


def test_an_event_of_a_rolled_back_change_does_not_exist():
    with pytest.raises(RuntimeError), transaction.atomic():
        event_record(type="account.updated", account_id=1, payload={"id": 1})
        raise RuntimeError("the change failed")
    assert Event.objects.count() == 0


def test_an_unknown_type_is_a_programming_error():
    with pytest.raises(ValueError, match="Unknown event type 'invoice.eaten'"):
        event_record(type="invoice.eaten", account_id=1, payload={})


def test_clients_poll_events_after_a_sequence(finance_api, sales_api):
    first = event_record(type="invoice.posted", account_id=1, payload={"id": 1})
    second = event_record(type="invoice.paid", account_id=2, payload={"id": 1})
    third = event_record(type="invoice.posted", account_id=2, payload={"id": 2})
    response = finance_api.get(f"/api/v1/events/?after={first.pk}")
    assert response.status_code == 200
    assert [e["id"] for e in response.json()["results"]] == [second.event_id, third.event_id]
    assert response.json()["results"][0] == second.body()
    assert [e["id"] for e in finance_api.get("/api/v1/events/?type=invoice.posted&account=2").json()["results"]] == [third.event_id]
    bad = finance_api.get("/api/v1/events/?after=x")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"after": ["Enter a whole number."]}
    unknown = finance_api.get("/api/v1/events/?type=nope")
    assert unknown.json()["error"]["fields"] == {"type": ["Unknown event type: nope."]}
    assert sales_api.get("/api/v1/events/").status_code == 403
