"""The demo catalog: every pricing model, charge type and billing type; all ready but one; idempotent."""

import pytest

from billing_site.models import AuditLog
from catalog import demo
from catalog.models import LegalEntity, PriceBook, PriceBookEntry, Product
from catalog.selectors import legal_entity_for, product_missing, readiness_by_product, tax_rate_for

pytestmark = pytest.mark.django_db


def test_seed_builds_a_complete_catalog_once():
    first = demo.seed()
    assert first == {"entities": 2, "rules": 6, "families": 4, "books": 2, "products": 17, "prices": 33}
    assert demo.seed() == {"entities": 0, "rules": 0, "families": 0, "books": 0, "products": 0, "prices": 0}
    assert set(PriceBookEntry.objects.values_list("pricing_model", flat=True)) == {
        "flat", "per_unit", "tiered", "volume", "block", "package"
    }
    assert set(Product.objects.values_list("charge_type", flat=True)) == {"one_time", "recurring", "usage"}
    assert set(Product.objects.values_list("billing_type", flat=True)) == {"advance", "arrears"}
    products = list(Product.objects.all())
    readiness = readiness_by_product(products)
    not_ready = sorted(p.sku for p in products if not all(c.ok for c in readiness[p.pk]))
    assert not_ready == ["PLAN-NONPROFIT"]
    assert product_missing(Product.objects.get(sku="PLAN-NONPROFIT")) == [
        "Priced in Standard USD (USD): No active price in this book."
    ]


def test_demo_vat_rates_follow_the_customer_country():
    demo.seed()
    rule = Product.objects.get(sku="PLAN-STARTER").tax_rule
    france, us = LegalEntity.objects.get(name="Recur France SAS"), LegalEntity.objects.get(name="Recur Inc.")
    assert tax_rate_for(tax_rule=rule, legal_entity=france, country="FR", tax_exempt=False).rate_percent == 20
    assert tax_rate_for(tax_rule=rule, legal_entity=france, country="DE", tax_exempt=False).label == "Autoliquidation (reverse charge)"
    assert tax_rate_for(tax_rule=rule, legal_entity=france, country="FR", tax_exempt=True).rate_percent == 0
    assert tax_rate_for(tax_rule=rule, legal_entity=us, country="US", tax_exempt=False).rate_percent == 0


def test_each_demo_book_is_sold_by_its_countrys_entity_and_older_demo_books_get_one():
    demo.seed()
    books = dict(PriceBook.objects.values_list("name", "legal_entity__name"))
    assert books == {"Standard EUR": "Recur France SAS", "Standard USD": "Recur Inc."}
    # A demo database from before books named their entity: seeding again sets it, once.
    PriceBook.objects.update(legal_entity=None)
    assert demo.seed() == {"entities": 0, "rules": 0, "families": 0, "books": 0, "products": 0, "prices": 0}
    assert dict(PriceBook.objects.values_list("name", "legal_entity__name")) == books
    audit_rows = AuditLog.objects.count()
    demo.seed()
    assert AuditLog.objects.count() == audit_rows
    us = LegalEntity.objects.get(name="Recur Inc.")
    starter = Product.objects.get(sku="PLAN-STARTER")
    assert legal_entity_for(price_book=PriceBook.objects.get(name="Standard USD"), product=starter) == us
    assert tax_rate_for(tax_rule=starter.tax_rule, legal_entity=us, country="US", tax_exempt=False).label == "No sales tax"
