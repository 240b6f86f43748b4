"""Pages: lists, the contract timeline, order activation and the amendment wizard."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from contracts import services
from contracts.models import Contract, Order, ScheduleEntry
from contracts.tests.factories import Catalog, draft_order
from customers.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    return Catalog()


@pytest.fixture
def contract(catalog, finance_user):
    product = catalog.product("seat-monthly", price="120.00", frequency=1)
    order = draft_order(catalog=catalog, start=date(2025, 1, 1), term=6, products=[(product, 10)])
    return services.order_activate(order=order, actor=finance_user, today=date(2025, 1, 1))


def test_contract_list_filters_and_exports(finance_client, contract):
    response = finance_client.get(reverse("contracts:index"), {"status": "active", "ending_before": "2025-08-01"})
    assert response.status_code == 200
    assert contract.number in response.content.decode()
    response = finance_client.get(reverse("contracts:index"), {"ending_before": "2025-06-01"})
    assert contract.number not in response.content.decode()
    csv = b"".join(finance_client.get(reverse("contracts:export")).streaming_content).decode("utf-8-sig")
    assert csv.splitlines()[1].startswith(f"{contract.number},{contract.account.number},")


def test_contract_list_query_count_does_not_grow_with_rows(finance_client, catalog, django_assert_max_num_queries):
    product = catalog.product("seat", price="12.00", frequency=1)
    for _ in range(5):
        services.order_activate(order=draft_order(catalog=catalog, products=[(product, 1)]), actor=None, today=date(2025, 1, 1))
    with django_assert_max_num_queries(12):
        assert finance_client.get(reverse("contracts:index")).status_code == 200


def test_contract_detail_shows_the_schedule_with_factors_and_totals(sales_client, contract):
    html = sales_client.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
    assert "1/12 × 31/31 = 1.000000" in html
    assert 'id="total-pending">€600.00' in html  # six months of 10 × 120.00/12 to bill
    assert reverse("contracts:amend", args=[contract.pk]) not in html  # sales reads only


def test_finance_creates_an_order_adds_a_product_and_activates_it(finance_client, catalog):
    product = catalog.product("platform", price="1200.00", frequency=12)
    account = AccountFactory()
    response = finance_client.post(reverse("contracts:order-create"), {
        "account": account.pk, "price_book": catalog.eur.pk, "start_date": "2025-03-01", "term_months": 12,
        "renewal_pricing": "same", "uplift_percent": "0",
    })
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("contracts:order-detail", args=[order.pk])
    response = finance_client.post(reverse("contracts:order-product-add", args=[order.pk]), {"product": product.pk, "quantity": "0"})
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 0" not in response.content.decode()
    assert "Enter a quantity greater than zero." in response.content.decode()
    finance_client.post(reverse("contracts:order-product-add", args=[order.pk]), {"product": product.pk, "quantity": "3", "discount_percent": "10"})
    op = order.products.get()
    assert (op.list_unit_price, op.net_unit_price, op.total_amount) == (Decimal("1200"), Decimal("1080"), Decimal("3240"))
    with time_machine.travel("2025-03-01 10:00Z"):
        response = finance_client.post(reverse("contracts:order-activate", args=[order.pk]))
        again = finance_client.post(reverse("contracts:order-activate", args=[order.pk]))
    contract = Contract.objects.get()
    assert response["Location"] == again["Location"] == reverse("contracts:detail", args=[contract.pk])


def test_sales_cannot_activate_or_amend(sales_client, contract):
    assert sales_client.post(reverse("contracts:order-activate", args=[contract.order_id])).status_code == 403
    assert sales_client.get(reverse("contracts:amend", args=[contract.pk])).status_code == 403


def test_amendment_wizard_previews_then_confirms(finance_client, contract):
    sub = contract.subscriptions.get()
    url = reverse("contracts:amend", args=[contract.pk])
    data = {"type": "reduce_quantity", "effective_date": "2025-02-15", "subscription": sub.pk, "quantity": "4"}
    with time_machine.travel("2025-02-10 10:00Z"):
        response = finance_client.post(url, {**data, "action": "preview"})
        html = response.content.decode()
        assert 'id="amendment-preview"' in html
        assert "14/28 = 0.500000" in html  # the piece of February kept at 10 units
        assert ScheduleEntry.objects.filter(status="cancelled").count() == 0
        token = html.split('name="preview_token" value="')[1].split('"')[0]
        # Editing the quantity after the preview shows a new preview instead of applying.
        response = finance_client.post(url, {**data, "quantity": "5", "action": "confirm", "preview_token": token})
        assert response.status_code == 200 and ScheduleEntry.objects.filter(status="cancelled").count() == 0
        response = finance_client.post(url, {**data, "action": "confirm", "preview_token": token})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.quantity == Decimal("6")


def test_amendment_wizard_shows_the_services_error_next_to_the_field(finance_client, contract):
    sub = contract.subscriptions.get()
    response = finance_client.post(reverse("contracts:amend", args=[contract.pk]), {
        "type": "add_quantity", "effective_date": "2026-01-01", "subscription": sub.pk, "quantity": "1", "action": "preview",
    })
    html = response.content.decode()
    assert "The effective date must be within the contract (01/01/2025 to 06/30/2025)." in html
    assert 'id="amendment-preview"' not in html


def test_account_tab_lists_the_contracts(sales_client, contract):
    html = sales_client.get(reverse("customers:detail", args=[contract.account_id]) + "?tab=contracts").content.decode()
    assert contract.number in html and 'id="account-contracts"' in html


def test_dashboard_cards_count_contracts_ending_and_orders_to_activate(finance_user, contract, catalog):
    from billing_site.roles import user_roles
    from contracts.selectors import dashboard_cards

    draft_order(catalog=catalog)
    with time_machine.travel("2025-05-15 10:00Z"):
        cards = dashboard_cards(user=finance_user, roles=user_roles(finance_user))
    assert [(c["title"], c["value"], c["tone"]) for c in cards] == [
        ("Contracts ending in 60 days", 1, "warn"), ("Orders to activate", 1, "warn"),
    ]
    assert cards[0]["url"] == "/contracts/?status=active&ending_before=2025-07-14"
