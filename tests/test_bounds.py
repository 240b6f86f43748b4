"""Bounds a person would expect: quantities, prices, amounts and dates beyond what the books hold are
refused with a message that says the limit (`billing_site.limits`), never stored as another number."""

import datetime as dt
from datetime import date

import pytest
import time_machine
from rest_framework.test import APIClient

from catalog.models import PriceBookEntry
from contracts.tests.factories import Catalog
from customers.tests.factories import AccountFactory
from invoicing.models import InvoiceRun
from payments.models import Payment
from quotes.models import QuoteLine

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def api(finance_user):
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(finance_user)
    return client


@pytest.fixture
def flat_quote(api):
    catalog = Catalog()
    product = catalog.product("platform", price="1188.00", frequency=12, books=("eur", "usd"))
    PriceBookEntry.objects.filter(product=product).update(pricing_model="flat")
    account = AccountFactory()
    quote = api.post("/api/v1/quotes/", {"account": account.pk, "price_book": catalog.eur.pk, "start_date": "2026-04-01",
                                         "term_months": 12, "expiration_date": "2026-04-30"}, format="json").json()
    return quote, product, catalog, account


@pytest.mark.parametrize(("quantity", "message"), [
    ("1000000000", "The quantity must be at most 999,999,999."),
    ("999999999999", "The quantity must be at most 999,999,999."),
    ("999999999", "At a quantity of 999,999,999 the unit price cannot carry the price of €1,188.00; quote a smaller quantity."),
])
def test_a_quantity_the_price_cannot_carry_is_refused_on_a_quote(api, flat_quote, quantity, message):
    quote, product, _catalog, _account = flat_quote
    response = api.post("/api/v1/quote-lines/", {"quote": quote["id"], "product": product.pk, "quantity": quantity}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {"quantity": [message]}
    assert QuoteLine.objects.count() == 0


def test_a_flat_price_for_a_reasonable_quantity_is_still_quoted(api, flat_quote):
    quote, product, _catalog, _account = flat_quote
    response = api.post("/api/v1/quote-lines/", {"quote": quote["id"], "product": product.pk, "quantity": "40"}, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["net_unit_price"], response.json()["line_total"]) == ("29.7", "1188.00")


def test_an_order_quantity_beyond_the_limit_is_refused(api, flat_quote):
    _quote, product, catalog, account = flat_quote
    response = api.post("/api/v1/orders/", {
        "account": account.pk, "price_book": catalog.eur.pk, "start_date": "2026-04-01", "term_months": 12,
        "products": [{"product": product.pk, "quantity": "999999999999"}],
    }, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {"quantity": ["The quantity must be at most 999,999,999."]}


@pytest.mark.parametrize(("target", "field"), [("9999-12-31", "target_date"), ("2027-04-15", "target_date")])
def test_an_invoice_run_too_far_ahead_is_refused(api, target, field):
    response = api.post("/api/v1/invoice-runs/", {"target_date": target}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {field: ["At most 400 days ahead (until 2027-04-14)."]}
    assert InvoiceRun.objects.count() == 0


def test_an_invoice_run_within_the_horizon_is_accepted(api, settings):
    settings.INVOICE_RUN_HORIZON_DAYS = 30
    assert api.post("/api/v1/invoice-runs/", {"target_date": "2026-04-09"}, format="json").status_code == 201
    response = api.post("/api/v1/invoice-runs/", {"target_date": "2026-04-10"}, format="json")
    assert response.json()["error"]["fields"] == {"target_date": ["At most 30 days ahead (until 2026-04-09)."]}


def test_payments_beyond_the_bounds_are_refused_by_the_api(api):
    account = AccountFactory()
    body = {"account": account.pk, "currency": "EUR", "method": "bank_transfer"}
    too_old = api.post("/api/v1/payments/", {**body, "amount": "10.00", "received_date": "1900-01-01"}, format="json")
    assert too_old.status_code == 400, too_old.content
    assert too_old.json()["error"]["fields"] == {"received_date": ["The date must be between 2016-03-10 and 2027-03-11."]}
    too_big = api.post("/api/v1/payments/", {**body, "amount": "1E+400", "received_date": "2026-03-01"}, format="json")
    assert too_big.status_code == 400
    assert Payment.objects.count() == 0


@pytest.mark.parametrize("amount", ["1E+400", "99999999999999999999.00", "1000000000000.00"])
def test_the_payment_service_refuses_amounts_beyond_the_columns(amount):
    from billing_site.errors import ValidationFailed
    from payments import services

    with pytest.raises(ValidationFailed) as exc:
        services.payment_record(account=AccountFactory(), amount=amount, currency="EUR", received_date=date(2026, 3, 1),
                                method="bank_transfer", today=date(2026, 3, 10))
    assert exc.value.fields == {"amount": ["The amount must be at most 999,999,999,999.99."]}


def test_a_day_in_the_window_is_accepted():
    from billing_site.limits import date_error

    assert date_error(date(2016, 3, 10), date(2026, 3, 10)) is None
    assert date_error(date(2027, 3, 11), date(2026, 3, 10)) is None
