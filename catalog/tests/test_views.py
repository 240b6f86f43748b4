"""Catalog pages: list filters and CSV, product and price forms with the tier editor, roles."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from billing_site.roles import Role
from catalog.models import PriceBookEntry, PriceTier, Product
from catalog.selectors import dashboard_cards
from catalog.tests.factories import (
    BillingRuleFactory,
    FamilyFactory,
    PriceBookFactory,
    ProductFactory,
    TaxRuleFactory,
    make_entry,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def eur():
    return PriceBookFactory(name="Standard EUR", currency="EUR", is_standard=True)


def names(response):
    return [p.name for p in response.context["page"].object_list]


def test_list_searches_filters_and_sorts(finance_client, eur):
    saas = FamilyFactory(name="SaaS")
    ready = ProductFactory(name="Alpha plan", sku="ALPHA", family=saas)
    make_entry(ready, eur, unit_price="10")
    ProductFactory(name="Beta calls", sku="BETA", charge_type="usage", billing_type="arrears")
    ProductFactory(name="Gamma box", sku="GAMMA", charge_type="one_time", active=False)
    url = reverse("catalog:index")
    assert names(finance_client.get(url, {"q": "bet"})) == ["Beta calls"]
    assert names(finance_client.get(url, {"family": saas.pk})) == ["Alpha plan"]
    assert names(finance_client.get(url, {"charge_type": "one_time"})) == ["Gamma box"]
    assert names(finance_client.get(url, {"active": "true"})) == ["Alpha plan", "Beta calls"]
    assert names(finance_client.get(url, {"ready": "yes"})) == ["Alpha plan"]
    assert names(finance_client.get(url, {"ready": "no"})) == ["Beta calls", "Gamma box"]
    assert names(finance_client.get(url, {"sort": "-sku"})) == ["Gamma box", "Beta calls", "Alpha plan"]


def test_list_paginates_and_keeps_a_fixed_number_of_queries(finance_client, eur, django_assert_max_num_queries):
    rule, tax = BillingRuleFactory(), TaxRuleFactory()
    for i in range(30):
        make_entry(ProductFactory(name=f"P{i:02d}", billing_rule=rule, tax_rule=tax), eur, unit_price="1")
    with django_assert_max_num_queries(12):
        response = finance_client.get(reverse("catalog:index"), {"page": 2})
    assert names(response) == [f"P{i:02d}" for i in range(25, 30)]


def test_csv_export_follows_the_filters_and_says_what_is_missing(finance_client, eur):
    make_entry(ProductFactory(name="Alpha plan", sku="ALPHA"), eur, unit_price="10")
    ProductFactory(name="Beta", sku="BETA", tax_rule=None)
    response = finance_client.get(reverse("catalog:export"), {"ready": "no"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["sku", "name", "family"]
    assert [r[0] for r in rows[1:]] == ["BETA"]
    assert rows[1][11:] == ["False", "Tax rule: Choose a tax rule. | Priced in Standard EUR (EUR): No active price in this book."]


def test_product_page_shows_the_checklist_the_prices_and_their_tiers(sales_client, eur):
    product = ProductFactory(name="Analytics", tax_rule=None)
    make_entry(product, eur, model="tiered", tiers=[("1", "11", "10.00"), ("11", None, "8.00", "5.00")])
    response = sales_client.get(reverse("catalog:product-detail", args=[product.pk]))
    html = response.content.decode()
    assert "Not ready to quote" in html
    assert "Choose a tax rule." in html
    assert "€8.00" in html and "€5.00" in html and "∞" in html
    assert reverse("catalog:product-edit", args=[product.pk]) not in html  # sales reads only


PRODUCT_POST = {
    "sku": "NEW-1", "name": "New plan", "charge_type": "recurring", "billing_type": "advance",
    "billing_frequency": "3", "default_term_months": "10", "unit_of_measure": "seat", "active": "on",
}


def test_product_create_shows_field_errors_keeps_input_then_saves(finance_client):
    response = finance_client.post(reverse("catalog:product-create"), PRODUCT_POST)
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "default_term_months": ["The default term (10 months) must be a whole number of billing periods of 3 months."]
    }
    assert 'value="New plan"' in response.content.decode()
    assert Product.objects.count() == 0
    response = finance_client.post(reverse("catalog:product-create"), {**PRODUCT_POST, "default_term_months": "12"})
    product = Product.objects.get()
    assert response["Location"] == reverse("catalog:product-detail", args=[product.pk])


def test_a_usage_product_is_saved_in_arrears_whatever_the_form_said(finance_client):
    finance_client.post(reverse("catalog:product-create"), {**PRODUCT_POST, "charge_type": "usage", "default_term_months": ""})
    assert Product.objects.get().billing_type == "arrears"


def _entry_post(book, model, rows, **extra):
    data = {
        "price_book": book.pk, "pricing_model": model, "currency": book.currency, "active": "on",
        "tiers-TOTAL_FORMS": str(len(rows)), "tiers-INITIAL_FORMS": "0", "tiers-MIN_NUM_FORMS": "0", "tiers-MAX_NUM_FORMS": "50",
        **extra,
    }
    for i, row in enumerate(rows):
        for name, value in zip(("lower", "upper", "unit_price", "flat_fee"), row, strict=False):
            data[f"tiers-{i}-{name}"] = value
    return data


def test_the_tier_editor_adds_and_removes_rows_without_javascript(finance_client, eur):
    product = ProductFactory()
    url = reverse("catalog:entry-create", args=[product.pk])
    rows = [("1", "11", "10"), ("11", "", "8")]
    response = finance_client.post(url, {**_entry_post(eur, "tiered", rows), "tier_action": "add"})
    formset = response.context["formset"]
    assert [f.initial for f in formset.forms] == [
        {"lower": "1", "upper": "11", "unit_price": "10", "flat_fee": ""},
        {"lower": "11", "upper": "", "unit_price": "8", "flat_fee": ""},
        {},
    ]
    assert response.context["form"].initial["pricing_model"] == "tiered"
    response = finance_client.post(url, {**_entry_post(eur, "tiered", rows), "tier_action": "remove-0"})
    assert [f.initial["lower"] for f in response.context["formset"].forms] == ["11"]
    assert PriceBookEntry.objects.count() == 0


def test_the_tier_editor_answers_htmx_with_the_editor_only(finance_client, eur):
    product = ProductFactory()
    response = finance_client.post(
        reverse("catalog:entry-create", args=[product.pk]),
        {**_entry_post(eur, "tiered", [("1", "", "10")]), "tier_action": "add"}, HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert html.startswith('<fieldset class="tier-editor" id="tier-editor">')
    assert 'name="tiers-TOTAL_FORMS" value="2"' in html


def test_a_tier_gap_is_shown_and_nothing_saved_then_the_fix_saves(finance_client, eur):
    product = ProductFactory()
    url = reverse("catalog:entry-create", args=[product.pk])
    response = finance_client.post(url, _entry_post(eur, "tiered", [("1", "11", "10"), ("12", "", "8"), ("", "", "", "")]))
    assert response.status_code == 200
    assert response.context["tier_errors"] == ["Gap between tier 1 (up to 11) and tier 2 (from 12)."]
    assert "Gap between tier 1 (up to 11) and tier 2 (from 12)." in response.content.decode()
    assert (PriceBookEntry.objects.count(), PriceTier.objects.count()) == (0, 0)
    response = finance_client.post(url, _entry_post(eur, "tiered", [("1", "11", "10"), ("11", "", "8", "5")]))
    assert response["Location"] == reverse("catalog:product-detail", args=[product.pk])
    entry = PriceBookEntry.objects.get()
    assert [(t.lower, t.upper, t.unit_price, t.flat_fee) for t in entry.tiers.order_by("lower")] == [
        (Decimal("1"), Decimal("11"), Decimal("10"), Decimal("0")), (Decimal("11"), None, Decimal("8"), Decimal("5")),
    ]


def test_entry_form_field_errors_land_on_their_fields(finance_client, eur):
    product = ProductFactory()
    response = finance_client.post(
        reverse("catalog:entry-create", args=[product.pk]),
        _entry_post(eur, "package", [], unit_price="-1", package_size="0", currency="USD"),
    )
    assert response.context["form"].errors == {
        "currency": ["The price is in USD but the price book “Standard EUR” is in EUR."],
        "unit_price": ["The unit price must not be negative."],
        "package_size": ["The package size must be at least 1."],
    }
    assert PriceBookEntry.objects.count() == 0


def test_fields_that_do_not_apply_to_the_model_are_ignored_by_the_form(finance_client, eur):
    product = ProductFactory()
    finance_client.post(
        reverse("catalog:entry-create", args=[product.pk]),
        _entry_post(eur, "per_unit", [("1", "", "3")], unit_price="12.5", package_size="10"),
    )
    entry = PriceBookEntry.objects.get()
    assert (entry.unit_price.amount, entry.package_size, entry.tiers.count()) == (Decimal("12.5"), None, 0)


def test_editing_an_entry_prefills_plain_numbers(finance_client, eur):
    product = ProductFactory()
    entry = make_entry(product, eur, model="tiered", tiers=[("1", "100", "0.0025"), ("100", None, "10")])
    response = finance_client.get(reverse("catalog:entry-edit", args=[product.pk, entry.pk]))
    assert [f.initial for f in response.context["formset"].forms] == [
        {"lower": "1", "upper": "100", "unit_price": "0.0025", "flat_fee": None},
        {"lower": "100", "upper": None, "unit_price": "10", "flat_fee": None},
    ]


@pytest.mark.parametrize(
    "name", ["catalog:product-create", "catalog:price-book-create", "catalog:tax-rule-create", "catalog:legal-entities-create"]
)
def test_sales_cannot_open_the_catalog_forms(sales_client, name):
    assert sales_client.get(reverse(name)).status_code == 403


def test_sales_cannot_post_a_price(sales_client, eur):
    product = ProductFactory()
    response = sales_client.post(reverse("catalog:entry-create", args=[product.pk]), _entry_post(eur, "per_unit", [], unit_price="1"))
    assert response.status_code == 403
    assert PriceBookEntry.objects.count() == 0


def test_reference_pages_list_and_edit(finance_client):
    rule = BillingRuleFactory(name="Monthly anniversary")
    response = finance_client.get(reverse("catalog:billing-rules"))
    assert "Monthly anniversary" in response.content.decode()
    response = finance_client.post(
        reverse("catalog:billing-rules-edit", args=[rule.pk]),
        {"name": "Monthly calendar", "legal_entity": rule.legal_entity_id, "period_boundary": "calendar",
         "day_count": "actual_days", "invoice_grouping": "account", "generate_invoices": "on"},
    )
    assert response["Location"] == reverse("catalog:billing-rules")
    rule.refresh_from_db()
    assert (rule.name, rule.period_boundary) == ("Monthly calendar", "calendar")


def test_tax_rule_form_saves_rates_and_refuses_duplicates(finance_client):
    data = {
        "name": "VAT", "taxable": "on", "rates-TOTAL_FORMS": "3", "rates-INITIAL_FORMS": "0",
        "rates-MIN_NUM_FORMS": "0", "rates-MAX_NUM_FORMS": "1000",
        "rates-0-country": "FR", "rates-0-name": "TVA 20 %", "rates-0-rate_percent": "20",
        "rates-1-country": "FR", "rates-1-name": "TVA 10 %", "rates-1-rate_percent": "10",
    }
    response = finance_client.post(reverse("catalog:tax-rule-create"), data)
    assert response.context["rate_errors"] == ["Rate 2 applies to the same legal entity and country as rate 1."]
    data["rates-1-country"] = "BE"
    response = finance_client.post(reverse("catalog:tax-rule-create"), data)
    assert response["Location"] == reverse("catalog:tax-rules")


def test_finance_dashboard_counts_products_not_ready(finance_client, sales_user, eur):
    make_entry(ProductFactory(name="Ready"), eur, unit_price="1")
    ProductFactory(name="Unpriced")
    ProductFactory(name="Retired", active=False)
    cards = [c for c in finance_client.get(reverse("home")).context["cards"] if c["title"] == "Products not ready to quote"]
    assert [(c["value"], c["url"], c["tone"], c["hint"]) for c in cards] == [
        (1, "/catalog/?active=true&ready=no", "warn", "2 active products in the catalog")
    ]
    assert dashboard_cards(user=sales_user, roles=frozenset({Role.SALES})) == []
