"""Finance builds a tiered product, fixes a tier gap, sees it become ready and previews a prorated price."""

import pytest
from playwright.sync_api import expect

from billing_site.roles import Role
from catalog import demo
from catalog.models import PriceBookEntry, Product
from catalog.tests.factories import (
    BillingRuleFactory,
    FamilyFactory,
    LegalEntityFactory,
    PriceBookFactory,
    TaxRuleFactory,
)
from conftest import make_user
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_finance_creates_a_tiered_product_fixes_a_tier_and_previews_a_prorated_price(page):
    entity = LegalEntityFactory(name="Recur France SAS")
    BillingRuleFactory(name="Billing day · actual days", legal_entity=entity, period_boundary="billing_day")
    TaxRuleFactory(name="Standard VAT")
    FamilyFactory(name="Add-ons")
    PriceBookFactory(name="Standard EUR", currency="EUR", is_standard=True)
    make_user("b-cat", Role.FINANCE)
    login(page, "b-cat", "pw-b-cat")

    page.click("nav.stages >> text=Catalog")
    page.click("text=New product")
    page.fill("#id_sku", "SEAT-ANALYTICS")
    page.fill("#id_name", "Analytics seats")
    page.select_option("#id_family", label="Add-ons")
    page.select_option("#id_charge_type", "recurring")
    page.select_option("#id_billing_frequency", "1")
    page.fill("#id_unit_of_measure", "seat")
    page.select_option("#id_billing_rule", label="Billing day · actual days")
    page.select_option("#id_tax_rule", label="Standard VAT")
    page.click("button:has-text('Save')")
    page.wait_for_selector("#readiness")
    assert page.text_content("#ready-pill").strip() == "Not ready to quote"
    assert "No active price in this book." in page.text_content("#readiness")

    page.click("text=Add a price in Standard EUR")
    page.select_option("#id_pricing_model", "tiered")
    expect(page.locator("#field-unit_price")).to_be_hidden()  # only the fields the model uses
    page.fill("#id_tiers-0-lower", "1")
    page.fill("#id_tiers-0-upper", "11")
    page.fill("#id_tiers-0-unit_price", "10")
    page.click("#add-tier")  # HTMX swaps in the editor with one more row
    page.wait_for_selector("#id_tiers-1-lower")
    assert page.input_value("#id_tiers-0-upper") == "11"  # what was typed survives the swap
    page.fill("#id_tiers-1-lower", "12")
    page.fill("#id_tiers-1-unit_price", "8")
    page.click("#entry-save")
    page.wait_for_selector("#tier-errors")
    assert page.text_content("#tier-errors").strip() == "Gap between tier 1 (up to 11) and tier 2 (from 12)."
    assert PriceBookEntry.objects.count() == 0
    shot(page, "catalog-tier-error")

    page.fill("#id_tiers-1-lower", "11")
    page.click("#entry-save")
    page.wait_for_selector("#readiness")
    assert "Price in Standard EUR saved." in page.text_content(".messages")
    assert page.text_content("#ready-pill").strip() == "Ready to quote"
    product = Product.objects.get(sku="SEAT-ANALYTICS")
    assert [(t.lower, t.upper) for t in product.entries.get().tiers.order_by("lower")] == [(1, 11), (11, None)]

    page.fill("#id_quantity", "15")
    page.fill("#id_start", "2025-01-24")
    page.fill("#id_end", "2026-01-24")
    page.fill("#id_billing_day", "1")
    page.click("#preview-submit")
    page.wait_for_selector("#preview-lines")
    first = page.locator("#preview-lines tbody tr").first.text_content()
    assert "8/31 = 0.258065" in first and "€3.01" in first
    assert page.locator("#preview-lines tbody tr").count() == 13
    assert page.text_content("[data-testid=extended-price]").strip() == "€140.00"
    assert page.text_content("[data-testid=preview-total]").strip() == "€140.04"
    assert "quoted as one line the range is €140.00" in page.text_content("#preview-result")
    shot(page, "catalog-product-preview")


def test_the_demo_catalog_lists_products_and_names_what_is_missing(page):
    demo.seed()
    make_user("b-sales", Role.SALES)
    login(page, "b-sales", "pw-b-sales")
    page.goto(page.base_url + "/catalog/?ready=no")
    assert page.locator("#product-table tbody tr").count() == 1
    page.click("text=Nonprofit plan")
    assert "Priced in Standard USD (USD) — No active price in this book." in page.text_content("#readiness")
    assert not page.is_visible("text=Add a price in Standard USD")  # sales reads, finance edits
    page.goto(page.base_url + "/catalog/")
    shot(page, "catalog-list")
    page.click("text=Analytics seats (graduated)")
    page.fill("#id_quantity", "15")
    page.fill("#id_start", "2025-02-10")
    page.fill("#id_end", "2025-07-01")
    page.click("#preview-submit")
    page.wait_for_selector("#preview-lines")
    assert "51/90 = 0.566667" in page.locator("#preview-lines tbody tr").first.text_content()
    shot(page, "catalog-demo-preview")


def test_finance_sees_and_changes_who_sells_through_a_book(page):
    demo.seed()
    make_user("b-book", Role.FINANCE)
    login(page, "b-book", "pw-b-book")
    page.goto(page.base_url + "/catalog/products/" + str(Product.objects.get(sku="PLAN-STARTER").pk) + "/")
    expect(page.locator("#entries tr[data-book='Standard USD'] .sold-by")).to_have_text("Recur Inc.")
    expect(page.locator("#entries tr[data-book='Standard EUR'] .sold-by")).to_have_text("Recur France SAS")
    page.goto(page.base_url + "/catalog/price-books/")
    page.click("text=Standard USD")
    expect(page.locator("#book-facts")).to_contain_text("Sold and invoiced by Recur Inc.")
    shot(page, "catalog-price-book-entity")
    page.click("text=Edit")
    page.select_option("#id_legal_entity", label="— the product's billing rule decides —")
    page.click("form.card button[type=submit]")
    expect(page.locator("#book-facts")).to_contain_text("No legal entity: each product's billing rule decides.")
