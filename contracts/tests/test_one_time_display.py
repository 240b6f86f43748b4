"""One-time products read as one-time: one date, no service range, no "/ 12 months"."""

import re
from datetime import date

import pytest
from django.urls import reverse

from contracts import services
from contracts.tests.factories import Catalog, draft_order

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_one_time_product_shows_one_date_on_the_order_and_the_contract(finance_client, finance_user):
    catalog = Catalog()
    onboarding = catalog.product("onboarding", price="2375.00", charge_type="one_time")
    seat = catalog.product("seat", price="1200.00", frequency=1)
    order = draft_order(catalog=catalog, start=date(2025, 3, 1), term=12, products=[(onboarding, 1), (seat, 2)])
    page = _text(finance_client.get(reverse("contracts:order-detail", args=[order.pk])).content.decode())
    assert "Onboarding One-time 1 €2,375.00 €2,375.00 one-time 03/01/2025 €2,375.00" in page
    assert "Seat Recurring 2 €1,200.00 €1,200.00 12 months 03/01/2025 – contract end €2,400.00" in page
    contract = services.order_activate(order=order, actor=finance_user, today=date(2025, 3, 1))
    page = _text(finance_client.get(reverse("contracts:detail", args=[contract.pk])).content.decode())
    assert "One-time · €2,375.00 · billed once, on 03/01/2025" in page
    assert "€2,375.00 / 12 months" not in page
    assert "Recurring · €1,200.00 / 12 months" in page
