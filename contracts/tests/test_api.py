"""The contracts API: orders, activation (idempotent), contracts with schedules, amendments, renewals."""

from datetime import date

import pytest
import time_machine

from contracts import services
from contracts.models import Contract, ScheduleEntry
from contracts.tests.factories import Catalog, draft_order
from customers.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    return Catalog()


def test_finance_creates_and_activates_an_order_twice_getting_one_contract(finance_api, catalog):
    product = catalog.product("platform", price="1200.00", frequency=12)
    account = AccountFactory()
    response = finance_api.post("/api/v1/orders/", {
        "account": account.pk, "price_book": catalog.eur.pk, "start_date": "2025-01-01", "term_months": 24,
        "products": [{"product": product.pk, "quantity": "2"}],
    }, format="json")
    assert response.status_code == 201, response.json()
    order = response.json()
    assert [(p["quantity"], p["net_unit_price"], p["total_amount"]) for p in order["products"]] == [
        ("2", "1200", "4800.00")
    ]
    first = finance_api.post(f"/api/v1/orders/{order['id']}/activate/")
    second = finance_api.post(f"/api/v1/orders/{order['id']}/activate/")
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"] and Contract.objects.count() == 1
    detail = finance_api.get(f"/api/v1/contracts/{first.json()['id']}/").json()
    assert [(e["period_start"], e["last_day"], e["factor"], e["amount"]) for e in detail["subscriptions"][0]["schedule"]] == [
        ("2025-01-01", "2025-12-31", "365/365 = 1.000000", "2400.00"),
        ("2026-01-01", "2026-12-31", "365/365 = 1.000000", "2400.00"),
    ]


def test_order_with_a_bad_product_creates_nothing(finance_api, catalog):
    usd = catalog.product("us-only", books=("usd",))
    response = finance_api.post("/api/v1/orders/", {
        "account": AccountFactory().pk, "price_book": catalog.eur.pk, "start_date": "2025-01-01", "term_months": 12,
        "products": [{"product": usd.pk, "quantity": "1"}],
    }, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"product": ["Us Only is priced in USD, not in the contract's currency (EUR)."]}
    from contracts.models import Order

    assert Order.objects.count() == 0  # the order and its products are one transaction


def test_amendment_preview_then_apply(finance_api, catalog):
    product = catalog.product("seat", price="120.00", frequency=1)
    contract = services.order_activate(order=draft_order(catalog=catalog, products=[(product, 10)]), actor=None, today=date(2025, 1, 1))
    sub = contract.subscriptions.get()
    body = {"type": "add_quantity", "effective_date": "2025-06-16", "subscription": sub.pk, "quantity": "5"}
    with time_machine.travel("2025-06-01 10:00Z"):
        preview = finance_api.post(f"/api/v1/contracts/{contract.pk}/amendments/preview/", body, format="json")
        assert preview.status_code == 200
        item = preview.json()["items"][0]
        assert [(c["period_start"], c["quantity_display"], c["factor"], c["amount"]) for c in item["charges"]][:2] == [
            ("2025-06-16", "+5", "15/30 = 0.500000", "25.00"), ("2025-07-01", "+5", "31/31 = 1.000000", "50.00"),
        ]
        assert ScheduleEntry.objects.filter(status="cancelled").count() == 0
        applied = finance_api.post(f"/api/v1/contracts/{contract.pk}/amendments/", body, format="json")
    assert applied.status_code == 201
    data = applied.json()
    # the answer is the effect: the preview's lists with the ids of the entries written, and the totals
    assert (data["amendment_type"], data["order"]["number"], data["new_subscription"]) == ("add_quantity", f"ORD-{data['order']['id']:05d}", None)
    (written,) = data["items"]
    assert [c["amount"] for c in written["charges"]] == [c["amount"] for c in item["charges"]]
    assert [c["entry"] for c in written["charges"]] == list(
        ScheduleEntry.objects.filter(source_order=data["order"]["id"]).order_by("period_start").values_list("pk", flat=True)
    )
    assert (written["cancelled"], written["replacements"], written["credits"]) == ([], [], [])
    assert (data["cancelled_amount"], data["credits_amount"], data["charges_amount"], data["net_amount"]) == (
        "0.00", "0.00", "325.00", "325.00"
    )
    assert data["net_amount"] == preview.json()["net_amount"]
    sub.refresh_from_db()
    assert str(sub.quantity) == "15.000000"
    listed = finance_api.get(f"/api/v1/contracts/{contract.pk}/amendments/").json()
    assert listed["count"] == 1 and listed["results"][0] == data


def test_change_price_answers_with_the_new_subscription_and_the_credit(finance_api, sales_api, catalog):
    product = catalog.product("seat", price="120.00", frequency=1)
    contract = services.order_activate(order=draft_order(catalog=catalog, products=[(product, 10)]), actor=None, today=date(2025, 1, 1))
    sub = contract.subscriptions.get()
    ids = list(contract.schedule.filter(period_start=date(2025, 1, 1)).values_list("pk", flat=True))
    services.schedule_entries_mark_billed(entry_ids=ids, billed_at=None)
    body = {"type": "change_price", "effective_date": "2025-01-21", "subscription": sub.pk, "unit_price": "180.00"}
    with time_machine.travel("2025-01-25 10:00Z"):
        data = finance_api.post(f"/api/v1/contracts/{contract.pk}/amendments/", body, format="json").json()
    new = contract.subscriptions.exclude(pk=sub.pk).get()
    assert (data["new_subscription"], data["new_subscriptions"]) == (new.pk, [new.pk])
    old_item, new_item = data["items"]
    # 10 × 120/12 × 11/31 = 35.48 credited and 10 × 180/12 × 11/31 = 53.23 billed, both on the 25th
    assert [(c["period_start"], c["bill_on"], c["quantity_display"], c["amount"]) for c in old_item["credits"]] == [
        ("2025-01-21", "2025-01-25", "−10", "-35.48")
    ]
    assert [(c["period_start"], c["bill_on"], c["amount"]) for c in new_item["charges"]][:2] == [
        ("2025-01-21", "2025-01-25", "53.23"), ("2025-02-01", "2025-02-01", "150.00"),
    ]
    assert len(old_item["cancelled"]) == 11
    assert sales_api.get(f"/api/v1/contracts/{contract.pk}/amendments/").status_code == 200


def test_amendment_errors_use_the_error_format(finance_api, sales_api, catalog):
    product = catalog.product("seat", price="120.00", frequency=1)
    contract = services.order_activate(order=draft_order(catalog=catalog, products=[(product, 10)]), actor=None, today=date(2025, 1, 1))
    sub = contract.subscriptions.get()
    body = {"type": "reduce_quantity", "effective_date": "2025-06-16", "subscription": sub.pk, "quantity": "11"}
    response = finance_api.post(f"/api/v1/contracts/{contract.pk}/amendments/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid", "message": "The quantity cannot go below zero: the subscription has 10.",
        "fields": {"quantity": ["The quantity cannot go below zero: the subscription has 10."]},
    }
    assert sales_api.post(f"/api/v1/contracts/{contract.pk}/amendments/", body, format="json").status_code == 403
    assert sales_api.get(f"/api/v1/contracts/{contract.pk}/").status_code == 200


def test_renew_via_api_returns_the_same_quote_twice(finance_api, catalog):
    product = catalog.product("seat", price="1200.00", frequency=12)
    contract = services.order_activate(order=draft_order(catalog=catalog, products=[(product, 1)]), actor=None, today=date(2025, 1, 1))
    first = finance_api.post(f"/api/v1/contracts/{contract.pk}/renew/").json()
    second = finance_api.post(f"/api/v1/contracts/{contract.pk}/renew/").json()
    assert first["quote"]["id"] == second["quote"]["id"]
    assert first["quote"]["number"].startswith("Q-")
