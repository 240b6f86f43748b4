"""Catalog API: CRUD through the services, the shared error format, read-only for sales."""

import pytest
from rest_framework.test import APIClient

from catalog.models import PriceBook, PriceBookEntry, PriceTier, Product
from catalog.tests.factories import (
    BillingRuleFactory,
    LegalEntityFactory,
    PriceBookFactory,
    ProductFactory,
    TaxRuleFactory,
    make_entry,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def eur():
    return PriceBookFactory(name="Standard EUR", currency="EUR", is_standard=True)


def test_anonymous_gets_401():
    assert APIClient().get("/api/v1/products/").status_code == 401


def test_product_crud_and_readiness(finance_api, eur):
    rule, tax = BillingRuleFactory(), TaxRuleFactory()
    body = {"sku": "API-1", "name": "API plan", "charge_type": "recurring", "billing_frequency": 1,
            "billing_rule": rule.pk, "tax_rule": tax.pk}
    response = finance_api.post("/api/v1/products/", body, format="json")
    assert response.status_code == 201, response.json()
    product_id = response.json()["id"]
    assert response.json()["ready"] is False
    assert response.json()["checklist"][-1] == {
        "label": "Priced in Standard EUR (EUR)", "ok": False, "detail": "No active price in this book."
    }
    response = finance_api.patch(f"/api/v1/products/{product_id}/", {"name": "API plan 2"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "API plan 2"
    assert finance_api.delete(f"/api/v1/products/{product_id}/").status_code == 405
    listing = finance_api.get("/api/v1/products/", {"q": "api"}).json()
    assert [p["sku"] for p in listing["results"]] == ["API-1"]


def test_entry_create_with_tiers_and_error_format(finance_api, eur):
    product = ProductFactory()
    body = {
        "product": product.pk, "price_book": eur.pk, "pricing_model": "tiered",
        "tiers": [{"lower": "1", "upper": "11", "unit_price": "10"}, {"lower": "12", "upper": None, "unit_price": "8"}],
    }
    response = finance_api.post("/api/v1/price-book-entries/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid", "message": "tiers: Gap between tier 1 (up to 11) and tier 2 (from 12).",
            "fields": {"tiers": ["Gap between tier 1 (up to 11) and tier 2 (from 12)."]},
        }
    }
    assert (PriceBookEntry.objects.count(), PriceTier.objects.count()) == (0, 0)
    body["tiers"][1]["lower"] = "11"
    response = finance_api.post("/api/v1/price-book-entries/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "id": response.json()["id"], "product": product.pk, "price_book": eur.pk, "pricing_model": "tiered",
        "unit_price": None, "currency": "EUR", "package_size": None, "free_units": "0.000000", "active": True,
        "tiers": [
            {"lower": "1.000000", "upper": "11.000000", "unit_price": "10.000000", "flat_fee": "0.000000"},
            {"lower": "11.000000", "upper": None, "unit_price": "8.000000", "flat_fee": "0.000000"},
        ],
    }


def test_entry_patch_keeps_tiers_when_not_sent_and_refuses_a_currency_mismatch(finance_api, eur):
    product = ProductFactory()
    entry = make_entry(product, eur, model="tiered", tiers=[("1", None, "5")])
    response = finance_api.patch(f"/api/v1/price-book-entries/{entry.pk}/", {"pricing_model": "volume"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["pricing_model"] == "volume" and len(response.json()["tiers"]) == 1
    response = finance_api.patch(
        f"/api/v1/price-book-entries/{entry.pk}/", {"pricing_model": "per_unit", "unit_price": "3", "currency": "USD", "tiers": []},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"currency": ["The price is in USD but the price book “Standard EUR” is in EUR."]}


def test_reference_data_endpoints(finance_api):
    entity = finance_api.post(
        "/api/v1/legal-entities/",
        {"name": "Recur GmbH", "country": "DE", "currency": "EUR", "invoice_prefix": "DE-INV", "credit_note_prefix": "DE-CN"},
        format="json",
    )
    assert entity.status_code == 201, entity.json()
    rule = finance_api.post(
        "/api/v1/billing-rules/", {"name": "DE calendar", "legal_entity": entity.json()["id"], "period_boundary": "calendar"}, format="json"
    )
    assert rule.status_code == 201 and rule.json()["day_count"] == "actual_days"
    tax = finance_api.post(
        "/api/v1/tax-rules/",
        {"name": "MwSt", "rates": [{"legal_entity": entity.json()["id"], "country": "DE", "name": "MwSt 19 %", "rate_percent": "19"}]},
        format="json",
    )
    assert tax.status_code == 201, tax.json()
    assert tax.json()["rates"][0]["rate_percent"] == "19"
    family = finance_api.post("/api/v1/product-families/", {"name": "Hardware", "approval_discount_percent": "5"}, format="json")
    assert family.status_code == 201
    book = finance_api.post("/api/v1/price-books/", {"name": "Standard CHF", "currency": "CHF", "is_standard": True}, format="json")
    assert book.status_code == 201 and PriceBook.objects.get(name="Standard CHF").is_standard


def test_sales_reads_but_cannot_write(sales_api, eur):
    product = ProductFactory()
    assert sales_api.get("/api/v1/products/").status_code == 200
    assert sales_api.get(f"/api/v1/products/{product.pk}/").status_code == 200
    for url, body in [
        ("/api/v1/products/", {"sku": "X", "name": "X"}),
        ("/api/v1/price-book-entries/", {"product": product.pk, "price_book": eur.pk}),
        ("/api/v1/legal-entities/", {"name": "X"}),
    ]:
        response = sales_api.post(url, body, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    assert sales_api.patch(f"/api/v1/products/{product.pk}/", {"name": "Y"}, format="json").status_code == 403
    assert Product.objects.get().name == product.name


def test_sales_can_preview_a_price(sales_api, eur):
    product = ProductFactory(charge_type="one_time")
    make_entry(product, eur, unit_price="349")
    response = sales_api.post(
        "/api/v1/pricing/preview", {"product": product.pk, "price_book": eur.pk, "quantity": "2", "start": "2025-05-01"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["total_amount"], response.json()["lines"][0]["bill_on"]) == ("698.00", "2025-05-01")


def test_legal_entity_errors_use_the_error_format(finance_api):
    LegalEntityFactory(invoice_prefix="FR-INV", credit_note_prefix="FR-CN")
    response = finance_api.post(
        "/api/v1/legal-entities/",
        {"name": "Other", "country": "FR", "currency": "EUR", "invoice_prefix": "FR-CN", "credit_note_prefix": "X-CN"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"invoice_prefix": ["Another legal entity uses this prefix for credit notes."]}
