"""Launch readiness: the checklist says exactly what keeps a product from being quoted."""

import pytest

from catalog.selectors import product_is_ready, product_missing, product_readiness, readiness_by_product
from catalog.tests.factories import PriceBookFactory, ProductFactory, make_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def books():
    return PriceBookFactory(name="Standard EUR", currency="EUR"), PriceBookFactory(name="Standard USD", currency="USD")


def test_a_product_priced_in_every_active_book_with_both_rules_is_ready(books):
    product = ProductFactory()
    for book in books:
        make_entry(product, book, unit_price="10")
    PriceBookFactory(name="Old EUR", active=False)
    assert product_is_ready(product)
    assert [(c.label, c.ok) for c in product_readiness(product)] == [
        ("Active", True), ("Billing rule", True), ("Tax rule", True),
        ("Priced in Standard EUR (EUR)", True), ("Priced in Standard USD (USD)", True),
    ]
    assert product_missing(product) == []


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({"active": False}, ["Active: The product is inactive."]),
        ({"billing_rule": None}, ["Billing rule: Choose a billing rule (it sets proration, and the legal entity of books that name none)."]),
        ({"tax_rule": None}, ["Tax rule: Choose a tax rule."]),
    ],
)
def test_each_missing_rule_is_named(books, change, missing):
    product = ProductFactory(**change)
    for book in books:
        make_entry(product, book, unit_price="10")
    assert not product_is_ready(product)
    assert product_missing(product) == missing


def test_a_missing_or_inactive_price_is_named_per_book(books):
    eur, usd = books
    product = ProductFactory()
    make_entry(product, eur, unit_price="10", active=False)
    assert product_missing(product) == [
        "Priced in Standard EUR (EUR): No active price in this book.",
        "Priced in Standard USD (USD): No active price in this book.",
    ]


def test_an_invalid_tier_table_is_named(books):
    eur, usd = books
    product = ProductFactory()
    make_entry(product, eur, model="tiered", tiers=[("1", "11", "1.00"), ("12", None, "0.50")])
    make_entry(product, usd, unit_price="10")
    assert product_missing(product) == [
        "Priced in Standard EUR (EUR): Gap between tier 1 (up to 11) and tier 2 (from 12)."
    ]


def test_a_usage_product_with_a_flat_price_is_not_ready(books):
    eur, usd = books
    product = ProductFactory(charge_type="usage", billing_type="arrears")
    make_entry(product, eur, model="flat", unit_price="10")
    make_entry(product, usd, unit_price="0.01")
    assert product_missing(product) == [
        "Priced in Standard EUR (EUR): A usage product needs a per-unit, tiered, volume, block or package price."
    ]


def test_readiness_of_many_products_takes_a_fixed_number_of_queries(books, django_assert_num_queries):
    products = [ProductFactory() for _ in range(5)]
    for product in products[:3]:
        for book in books:
            make_entry(product, book, model="tiered", tiers=[("1", None, "1.00")])
    with django_assert_num_queries(3):  # books, entries, tiers
        readiness = readiness_by_product(products)
    assert [all(c.ok for c in readiness[p.pk]) for p in products] == [True, True, True, False, False]
