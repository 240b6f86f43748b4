"""Catalog services: validation with exact field messages, nothing half-saved, audit rows."""

from decimal import Decimal

import pytest

from billing_site.errors import ValidationFailed
from billing_site.models import AuditLog
from catalog import services
from catalog.models import PriceBook, PriceBookEntry, PriceTier, Product, TaxRate, TaxRule
from catalog.tests.factories import (
    BillingRuleFactory,
    LegalEntityFactory,
    PriceBookFactory,
    ProductFactory,
    TaxRuleFactory,
    make_entry,
)

pytestmark = pytest.mark.django_db
D = Decimal


def tier(lower, upper, price, fee=None):
    row = {"lower": lower, "upper": upper, "unit_price": price}
    if fee is not None:
        row["flat_fee"] = fee
    return row


@pytest.fixture
def book():
    return PriceBookFactory(name="Standard EUR", currency="EUR", is_standard=True)


@pytest.fixture
def product():
    return ProductFactory(name="Seats", sku="SEAT")


# --- entries: the validation table -------------------------------------------------------------------

ENTRY_CASES = [
    pytest.param(
        {"pricing_model": "tiered"}, [tier("1", "11", "1.00"), tier("12", None, "0.80")],
        {"tiers": ["Gap between tier 1 (up to 11) and tier 2 (from 12)."]}, id="gap",
    ),
    pytest.param(
        {"pricing_model": "volume"}, [tier("1", "11", "1.00"), tier("10", None, "0.80")],
        {"tiers": ["Tier 1 (up to 11) overlaps tier 2 (from 10)."]}, id="overlap",
    ),
    pytest.param(
        {"pricing_model": "tiered"}, [tier("11", "51", "0.80"), tier("1", "11", "1.00")],
        {"tiers": [
            "The first tier must start at 0 or 1.",
            "Tiers must be in ascending order: tier 2 does not start above tier 1.",
        ]}, id="descending",
    ),
    pytest.param(
        {"pricing_model": "tiered"}, [tier("1", None, "1.00"), tier("11", None, "0.80")],
        {"tiers": ["Tier 1: only the last tier can have an open upper bound."]}, id="open-tier-not-last",
    ),
    pytest.param(
        {"pricing_model": "tiered"}, [tier("1", "1", "1.00"), tier("1", None, "0.80")],
        {"tiers": [
            "Tier 1: the upper bound must be greater than the lower bound.",
            "Tiers must be in ascending order: tier 2 does not start above tier 1.",
        ]}, id="empty-tier",
    ),
    pytest.param(
        {"pricing_model": "tiered"}, [tier("1", "11", "-1.00"), tier("11", None, "0.80")],
        {"tiers": ["Tier 1: prices must not be negative."]}, id="negative-tier-price",
    ),
    pytest.param(
        {"pricing_model": "tiered"}, [], {"tiers": ["Add at least one tier."]}, id="no-tiers",
    ),
    pytest.param(
        {"pricing_model": "tiered"}, [tier("1", "11", "1.00"), {"lower": "11", "upper": None}],
        {"tiers": ["Tier 2: the unit price is required."]}, id="tier-without-price",
    ),
    pytest.param(
        {"pricing_model": "block"}, [tier("1", "11", "10.00", "5.00"), tier("11", "51", "30.00")],
        {"tiers": ["Block prices use the tier's unit price as the block price; leave flat fees at 0."]}, id="block-flat-fee",
    ),
    pytest.param(
        {"pricing_model": "per_unit", "unit_price": D("-1")}, None,
        {"unit_price": ["The unit price must not be negative."]}, id="negative-unit-price",
    ),
    pytest.param(
        {"pricing_model": "per_unit"}, None, {"unit_price": ["A unit price is required."]}, id="missing-unit-price",
    ),
    pytest.param(
        {"pricing_model": "per_unit", "unit_price": D("1.0000001")}, None,
        {"unit_price": ["Use at most 6 decimal places."]}, id="seven-decimals",
    ),
    pytest.param(
        {"pricing_model": "package", "unit_price": D("10"), "package_size": D("0")}, None,
        {"package_size": ["The package size must be at least 1."]}, id="package-size-0",
    ),
    pytest.param(
        {"pricing_model": "package", "unit_price": D("10")}, None,
        {"package_size": ["A package size is required."]}, id="package-size-missing",
    ),
    pytest.param(
        {"pricing_model": "per_unit", "unit_price": D("10"), "currency": "USD"}, None,
        {"currency": ["The price is in USD but the price book “Standard EUR” is in EUR."]}, id="currency-mismatch",
    ),
    pytest.param(
        {"pricing_model": "tiered", "free_units": D("5")}, [tier("1", None, "1.00")],
        {"free_units": ["Free units apply to per-unit and package prices only; use a tier priced 0."]}, id="free-units-on-tiers",
    ),
    pytest.param(
        {"pricing_model": "per_unit", "unit_price": D("10"), "free_units": D("-1")}, None,
        {"free_units": ["Free units must not be negative."]}, id="negative-free-units",
    ),
    pytest.param(
        {"pricing_model": "tiered", "unit_price": D("10")}, [tier("1", None, "1.00")],
        {"unit_price": ["Tiered, volume and block prices are set in the tiers; leave the unit price empty."]},
        id="unit-price-on-tiers",
    ),
    pytest.param(
        {"pricing_model": "per_unit", "unit_price": D("10")}, [tier("1", None, "1.00")],
        {"tiers": ["Only tiered, volume and block prices have tiers."]}, id="tiers-on-per-unit",
    ),
    pytest.param(
        {"pricing_model": "per_unit", "unit_price": D("10"), "package_size": D("5")}, None,
        {"package_size": ["Only package prices have a package size."]}, id="package-size-on-per-unit",
    ),
    pytest.param(
        {"pricing_model": "staircase"}, None, {"pricing_model": ["“staircase” is not a pricing model."]}, id="unknown-model",
    ),
    pytest.param(
        {"pricing_model": "per_unit", "unit_price": "abc"}, None, {"unit_price": ["Enter a number."]}, id="not-a-number",
    ),
]


@pytest.mark.parametrize(("data", "tiers", "fields"), ENTRY_CASES)
def test_entry_save_refuses_bad_input_with_field_errors_and_saves_nothing(finance_user, product, book, data, tiers, fields):
    with pytest.raises(ValidationFailed) as caught:
        services.entry_save(actor=finance_user, product=product, price_book=book, data=data, tiers=tiers)
    assert caught.value.fields == fields
    assert PriceBookEntry.objects.count() == 0
    assert PriceTier.objects.count() == 0
    assert AuditLog.objects.filter(object_type="catalog.pricebookentry").count() == 0


def test_a_usage_product_needs_a_usage_capable_model(finance_user, book):
    usage = ProductFactory(charge_type="usage", billing_type="arrears")
    with pytest.raises(ValidationFailed) as caught:
        services.entry_save(actor=finance_user, product=usage, price_book=book, data={"pricing_model": "flat", "unit_price": D("5")})
    assert caught.value.fields == {
        "pricing_model": ["A usage product needs a per-unit, tiered, volume, block or package price."]
    }
    assert PriceBookEntry.objects.count() == 0


def test_several_problems_are_reported_together(finance_user, product, book):
    with pytest.raises(ValidationFailed) as caught:
        services.entry_save(
            actor=finance_user, product=product, price_book=book,
            data={"pricing_model": "package", "unit_price": D("-2"), "package_size": D("0.5"), "currency": "USD"},
        )
    assert caught.value.fields == {
        "currency": ["The price is in USD but the price book “Standard EUR” is in EUR."],
        "unit_price": ["The unit price must not be negative."],
        "package_size": ["The package size must be at least 1."],
    }


def test_entry_save_creates_the_entry_and_its_tiers_and_audits(finance_user, product, book):
    entry = services.entry_save(
        actor=finance_user, product=product, price_book=book, data={"pricing_model": "tiered"},
        tiers=[tier("1", "11", "10.00"), tier("11", "51", "8.00", "5.00"), tier("51", None, "6.50")],
    )
    assert entry.unit_price is None and entry.price_book.currency == "EUR"
    assert [(t.lower, t.upper, t.unit_price, t.flat_fee) for t in entry.tiers.order_by("lower")] == [
        (D("1"), D("11"), D("10"), D("0")), (D("11"), D("51"), D("8"), D("5")), (D("51"), None, D("6.5"), D("0")),
    ]
    row = AuditLog.objects.get(object_type="catalog.pricebookentry", object_id=str(entry.pk))
    assert row.action == "created" and row.actor_label == "fiona"
    assert row.data["tiers"] == [["1", "11", "10", "0"], ["11", "51", "8", "5"], ["51", None, "6.5", "0"]]
    product_row = AuditLog.objects.get(object_type="catalog.product", action="price_added")
    assert product_row.message == "Standard EUR (EUR)"


def test_money_is_stored_in_the_books_currency(finance_user, product, book):
    entry = services.entry_save(
        actor=finance_user, product=product, price_book=book, data={"pricing_model": "per_unit", "unit_price": "49.90"}
    )
    entry.refresh_from_db()
    assert (entry.unit_price.amount, str(entry.unit_price.currency)) == (D("49.900000"), "EUR")


def test_a_bad_update_leaves_the_entry_and_its_tiers_as_they_were(finance_user, product, book):
    entry = services.entry_save(
        actor=finance_user, product=product, price_book=book, data={"pricing_model": "tiered"},
        tiers=[tier("1", "11", "10.00"), tier("11", None, "8.00")],
    )
    with pytest.raises(ValidationFailed):
        services.entry_save(
            actor=finance_user, product=product, price_book=book, entry=entry, data={"pricing_model": "volume"},
            tiers=[tier("1", "11", "9.00"), tier("13", None, "7.00")],
        )
    entry.refresh_from_db()
    assert entry.pricing_model == "tiered"
    assert [(t.lower, t.upper, t.unit_price) for t in entry.tiers.order_by("lower")] == [
        (D("1"), D("11"), D("10")), (D("11"), None, D("8")),
    ]


def test_an_update_replaces_the_whole_tier_table_and_audits_the_change(finance_user, product, book):
    entry = services.entry_save(
        actor=finance_user, product=product, price_book=book, data={"pricing_model": "tiered"},
        tiers=[tier("1", "11", "10.00"), tier("11", None, "8.00")],
    )
    services.entry_save(
        actor=finance_user, product=product, price_book=book, entry=entry, data={"pricing_model": "volume"},
        tiers=[tier("0", "100", "9.00"), tier("100", None, "7.00")],
    )
    assert [(t.lower, t.upper, t.unit_price) for t in entry.tiers.order_by("lower")] == [
        (D("0"), D("100"), D("9")), (D("100"), None, D("7")),
    ]
    row = AuditLog.objects.get(object_type="catalog.pricebookentry", action="updated")
    assert row.message == "pricing_model, tiers"
    assert row.data["pricing_model"] == ["tiered", "volume"]


def test_a_second_price_in_the_same_book_is_refused(finance_user, product, book):
    make_entry(product, book, unit_price="10")
    with pytest.raises(ValidationFailed) as caught:
        services.entry_save(actor=finance_user, product=product, price_book=book, data={"pricing_model": "per_unit", "unit_price": D("12")})
    assert caught.value.fields == {"price_book": ["Seats already has a price in Standard EUR."]}


def test_unknown_fields_are_refused(finance_user, product, book):
    with pytest.raises(ValidationFailed) as caught:
        services.entry_save(actor=finance_user, product=product, price_book=book, data={"price": D("1")})
    assert caught.value.fields == {"price": ["Unknown field."]}


# --- products ----------------------------------------------------------------------------------------


def _product_data(**extra):
    rule = BillingRuleFactory()
    return {
        "sku": " API-CALLS ", "name": "API calls", "charge_type": "recurring", "billing_type": "advance",
        "billing_frequency": 1, "unit_of_measure": "call", "billing_rule": rule, "tax_rule": TaxRuleFactory(), **extra,
    }


def test_product_create_strips_the_sku_and_audits(finance_user):
    product = services.product_create(actor=finance_user, data=_product_data())
    assert product.sku == "API-CALLS"
    row = AuditLog.objects.get(object_type="catalog.product", object_id=str(product.pk))
    assert (row.action, row.actor_label) == ("created", "fiona")


def test_a_usage_product_defaults_to_arrears_and_refuses_advance(finance_user):
    data = _product_data(charge_type="usage")
    data.pop("billing_type")
    assert services.product_create(actor=finance_user, data=data).billing_type == "arrears"
    with pytest.raises(ValidationFailed) as caught:
        services.product_create(actor=finance_user, data=_product_data(sku="U2", charge_type="usage", billing_type="advance"))
    assert caught.value.fields == {"billing_type": ["Usage is always billed in arrears."]}


@pytest.mark.parametrize(
    ("extra", "fields"),
    [
        ({"default_term_months": 10, "billing_frequency": 3}, {"default_term_months": [
            "The default term (10 months) must be a whole number of billing periods of 3 months."]}),
        ({"default_term_months": 0}, {"default_term_months": ["Ensure this value is greater than or equal to 1."]}),
        ({"billing_frequency": 2}, {"billing_frequency": ["Value 2 is not a valid choice."]}),
        ({"charge_type": "rental"}, {"charge_type": ["Value 'rental' is not a valid choice."]}),
        ({"name": ""}, {"name": ["This field cannot be blank."]}),
    ],
)
def test_product_create_refuses_bad_input(finance_user, extra, fields):
    with pytest.raises(ValidationFailed) as caught:
        services.product_create(actor=finance_user, data=_product_data(**extra))
    assert caught.value.fields == fields
    assert Product.objects.count() == 0


def test_a_duplicate_sku_is_refused(finance_user):
    ProductFactory(sku="API-CALLS")
    with pytest.raises(ValidationFailed) as caught:
        services.product_create(actor=finance_user, data=_product_data())
    assert caught.value.fields == {"sku": ["Product with this SKU already exists."]}


def test_a_product_with_a_flat_price_cannot_become_usage(finance_user, product, book):
    make_entry(product, book, model="flat", unit_price="100")
    with pytest.raises(ValidationFailed) as caught:
        services.product_update(product=product, actor=finance_user, data={"charge_type": "usage", "billing_type": "arrears"})
    assert caught.value.fields == {"charge_type": ["A usage product cannot have a flat price; change its price in: Standard EUR."]}


def test_product_update_audits_each_changed_field(finance_user, product):
    services.product_update(product=product, actor=finance_user, data={"name": "Seats Pro", "active": True})
    row = AuditLog.objects.get(object_type="catalog.product", action="updated")
    assert row.data == {"name": ["Seats", "Seats Pro"]}


# --- price books, rules, legal entities --------------------------------------------------------------


def test_marking_a_book_standard_moves_the_flag(finance_user, book):
    other = services.price_book_create(actor=finance_user, data={"name": "Partners EUR", "currency": "EUR", "is_standard": True})
    book.refresh_from_db()
    assert (other.is_standard, book.is_standard) == (True, False)
    assert PriceBook.objects.filter(currency="EUR", is_standard=True).count() == 1


def test_a_book_with_prices_keeps_its_currency(finance_user, product, book):
    make_entry(product, book, unit_price="10")
    with pytest.raises(ValidationFailed) as caught:
        services.price_book_update(price_book=book, actor=finance_user, data={"currency": "USD"})
    assert caught.value.fields == {"currency": ["This book already has prices in EUR; its currency cannot change."]}


def test_tax_rule_create_with_rates(finance_user):
    entity = LegalEntityFactory(name="Recur France SAS")
    rule = services.tax_rule_create(
        actor=finance_user, data={"name": "Standard VAT", "taxable": True},
        rates=[
            {"legal_entity": entity, "country": "fr", "name": "TVA 20 %", "rate_percent": D("20")},
            {"legal_entity": entity, "country": "", "name": "Autoliquidation", "rate_percent": D("0")},
        ],
    )
    assert sorted((r.country, r.rate_percent) for r in rule.rates.all()) == [("", D("0")), ("FR", D("20"))]


def test_tax_rule_refuses_two_rates_for_one_scope_and_saves_nothing(finance_user):
    with pytest.raises(ValidationFailed) as caught:
        services.tax_rule_create(
            actor=finance_user, data={"name": "VAT"},
            rates=[
                {"country": "FR", "name": "TVA 20 %", "rate_percent": D("20")},
                {"country": "FR", "name": "TVA 10 %", "rate_percent": D("10")},
                {"country": "XX", "name": "Odd", "rate_percent": D("120")},
            ],
        )
    assert caught.value.fields == {"rates": [
        "Rate 2 applies to the same legal entity and country as rate 1.",
        "Rate 3, customer country: “XX” is not an ISO 3166 country code.",
        "Rate 3, rate (%): Ensure this value is less than or equal to 100.",
    ]}
    assert (TaxRule.objects.count(), TaxRate.objects.count()) == (0, 0)


def test_tax_rule_update_replaces_the_rates(finance_user):
    rule = services.tax_rule_create(actor=finance_user, data={"name": "VAT"}, rates=[{"country": "FR", "name": "TVA", "rate_percent": D("20")}])
    services.tax_rule_update(tax_rule=rule, actor=finance_user, data={}, rates=[{"country": "DE", "name": "MwSt", "rate_percent": D("19")}])
    assert [(r.country, r.rate_percent) for r in rule.rates.all()] == [("DE", D("19"))]
    row = AuditLog.objects.get(object_type="catalog.taxrule", action="updated")
    assert row.data["rates"] == [["*/FR: TVA 20%"], ["*/DE: MwSt 19%"]]


def test_legal_entity_prefixes_must_not_collide(finance_user):
    LegalEntityFactory(invoice_prefix="FR-INV", credit_note_prefix="FR-CN")
    with pytest.raises(ValidationFailed) as caught:
        services.legal_entity_create(
            actor=finance_user,
            data={"name": "Recur Inc.", "country": "US", "currency": "USD", "invoice_prefix": "FR-CN", "credit_note_prefix": "FR-INV"},
        )
    assert caught.value.fields == {
        "invoice_prefix": ["Another legal entity uses this prefix for credit notes."],
        "credit_note_prefix": ["Another legal entity uses this prefix for invoices."],
    }


def test_legal_entity_needs_distinct_prefixes(finance_user):
    with pytest.raises(ValidationFailed) as caught:
        services.legal_entity_create(
            actor=finance_user,
            data={"name": "Recur Inc.", "country": "US", "currency": "USD", "invoice_prefix": "US", "credit_note_prefix": "US"},
        )
    assert caught.value.fields == {"credit_note_prefix": ["Invoices and credit notes need different number prefixes."]}


def test_billing_rule_and_family_create_and_update(finance_user):
    entity = LegalEntityFactory()
    rule = services.billing_rule_create(
        actor=finance_user, data={"name": "Calendar 30/360", "legal_entity": entity, "period_boundary": "calendar", "day_count": "thirty_360"}
    )
    services.billing_rule_update(billing_rule=rule, actor=finance_user, data={"invoice_grouping": "contract"})
    rule.refresh_from_db()
    assert (rule.period_boundary, rule.day_count, rule.invoice_grouping) == ("calendar", "thirty_360", "contract")
    family = services.product_family_create(actor=finance_user, data={"name": "Hardware", "approval_discount_percent": D("5")})
    with pytest.raises(ValidationFailed) as caught:
        services.product_family_update(family=family, actor=finance_user, data={"approval_discount_percent": D("101")})
    assert caught.value.fields == {"approval_discount_percent": ["Ensure this value is less than or equal to 100."]}
