"""Accepting a quote through the Contracts stage: the order copies the quote's prices exactly, and the
contract's billing schedule adds up to the quote's line totals."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from billing_site.money import sum_money
from quotes import services
from quotes.tests.factories import TODAY, draft

contracts_services = pytest.importorskip("contracts.services")
pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


def test_accepting_creates_the_order_with_the_quote_prices_and_the_schedule_bills_the_quote(cat, acct, sales_user):
    quote = draft(actor=sales_user, account=acct, book=cat["book"], start=dt.date(2026, 4, 1))
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="10", discount_percent="15")
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["onboarding"], quantity="1")
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["storage"], quantity="15")
    services.quote_submit(quote=quote, actor=sales_user, open_balance=D("0"), today=TODAY)
    services.quote_present(quote=quote, actor=sales_user, today=TODAY)
    order = contracts_services.order_create_from_quote(quote=quote, actor=sales_user)
    quote.refresh_from_db()
    assert quote.status == "accepted"
    assert contracts_services.order_create_from_quote(quote=quote, actor=sales_user) == order
    lines = list(quote.lines.order_by("position"))
    products = list(order.products.order_by("id"))
    assert [(p.product_id, p.quantity, p.list_unit_price, p.net_unit_price, p.total_amount) for p in products] == [
        (line.product_id, line.quantity, line.list_unit_price, line.net_unit_price, line.line_total) for line in lines
    ]
    contract = contracts_services.order_activate(order=order, actor=None, today=dt.date(2026, 4, 1))
    billed = {}
    for entry in contract.schedule.select_related("subscription"):
        billed.setdefault(entry.subscription.product_id, []).append(entry.amount)
    assert {product: sum_money(amounts, "EUR") for product, amounts in billed.items()} == {
        line.product_id: D(line.line_total).quantize(D("0.01")) for line in lines
    }
