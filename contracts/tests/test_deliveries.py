"""Delivery tracking: due dates, confirming a delivery once, late deliveries, billing one-time products on delivery."""

from datetime import date
from decimal import Decimal

import pytest

from billing_site.errors import InvalidTransition, ValidationFailed
from contracts import selectors, services
from contracts.models import ScheduleEntry
from contracts.tests.factories import Catalog, draft_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    return Catalog()


def _activated(catalog, *, bill_on_delivery=False):
    rule = catalog.rule()
    if bill_on_delivery:
        rule.one_time_billing = "delivery"
        rule.save()
    setup = catalog.product("SETUP", price="500.00", charge_type="one_time")
    setup.needs_delivery = True
    setup.save()
    plat = catalog.product("PLAT", price="1200.00", frequency=1)
    order = draft_order(catalog=catalog, start=date(2025, 1, 1), products=[(setup, "2"), (plat, "1")])
    services.order_activate(order=order, actor=None, today=date(2025, 1, 1))
    return order, order.products.get(product=setup)


def test_a_product_that_needs_delivery_is_due_on_its_start_and_listed_as_due_then_late(catalog):
    order, op = _activated(catalog)
    assert op.delivery_due_date == date(2025, 1, 1)
    assert list(selectors.delivery_list(status="due", today=date(2025, 1, 1))) == [op]
    assert list(selectors.delivery_list(status="late", today=date(2025, 1, 1))) == []
    assert list(selectors.delivery_list(status="late", today=date(2025, 1, 2))) == [op]
    assert order.products.count() == 2 and selectors.delivery_list(status="all", today=date(2025, 1, 2)).count() == 1


def test_delivering_records_date_and_person_once_and_late_is_known(catalog, finance_user):
    _order, op = _activated(catalog)
    op = services.order_product_deliver(order_product=op, actor=finance_user, delivered_date=date(2025, 1, 5),
                                        today=date(2025, 1, 10))
    assert (op.delivered_date, op.delivered_by, op.delivered_late) == (date(2025, 1, 5), finance_user, True)
    with pytest.raises(InvalidTransition) as exc:
        services.order_product_deliver(order_product=op, actor=finance_user, today=date(2025, 1, 10))
    assert str(exc.value) == "Setup was already delivered on 2025-01-05."
    assert list(selectors.delivery_list(status="delivered", today=date(2025, 1, 10))) == [op]


def test_a_delivery_in_the_future_or_of_a_draft_order_is_refused(catalog):
    _order, op = _activated(catalog)
    with pytest.raises(ValidationFailed) as exc:
        services.order_product_deliver(order_product=op, actor=None, delivered_date=date(2025, 2, 1), today=date(2025, 1, 10))
    assert exc.value.fields == {"delivered_date": ["The delivery date cannot be in the future."]}
    draft = draft_order(catalog=catalog, products=[(op.product, "1")])
    with pytest.raises(InvalidTransition):
        services.order_product_deliver(order_product=draft.products.get(), actor=None, today=date(2025, 1, 10))


def test_one_time_products_bill_on_activation_by_default(catalog):
    _order, op = _activated(catalog)
    entry = ScheduleEntry.objects.get(subscription__origin=op)
    assert (entry.bill_on, entry.amount) == (date(2025, 1, 1), Decimal("1000.00"))


def test_one_time_products_billed_on_delivery_are_scheduled_when_delivered(catalog):
    _order, op = _activated(catalog, bill_on_delivery=True)
    assert not ScheduleEntry.objects.filter(subscription__origin=op).exists()
    services.order_product_deliver(order_product=op, actor=None, delivered_date=date(2025, 1, 20), today=date(2025, 1, 21))
    entry = ScheduleEntry.objects.get(subscription__origin=op)
    assert (entry.kind, entry.bill_on, entry.period_start, entry.amount) == ("one_time", date(2025, 1, 20), date(2025, 1, 20), Decimal("1000.00"))


def test_delivery_page_and_api(catalog, finance_client, finance_api, sales_client):
    _order, op = _activated(catalog)
    page = finance_client.get("/contracts/deliveries/?status=late").content.decode()
    assert f'id="delivery-{op.pk}"' in page and "Deliver" in page
    assert "Deliver</button>" not in sales_client.get("/contracts/deliveries/").content.decode()
    assert sales_client.post(f"/contracts/deliveries/{op.pk}/deliver/").status_code == 403
    response = finance_api.post(f"/api/v1/deliveries/{op.pk}/deliver/", {"delivered_date": "2025-01-03"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["delivered_date"], response.json()["late"]) == ("2025-01-03", True)
    again = finance_api.post(f"/api/v1/deliveries/{op.pk}/deliver/", {}, format="json")
    assert again.status_code == 409
    response = finance_client.get("/contracts/deliveries/?status=delivered&format=csv")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[1].split(",")[3:] == ["2.000000", "2025-01-01", "2025-01-03", "fiona", "True"]
