"""Starting states for catalog tests: rules, products, books and entries with readable fixed prices."""

from decimal import Decimal

import factory
from djmoney.money import Money

from catalog.models import (
    BillingRule,
    LegalEntity,
    PriceBook,
    PriceBookEntry,
    PriceTier,
    Product,
    ProductFamily,
    TaxRate,
    TaxRule,
)


class LegalEntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegalEntity

    name = factory.Sequence(lambda n: f"Entity {n} SAS")
    country = "FR"
    currency = "EUR"
    invoice_prefix = factory.Sequence(lambda n: f"INV{n}-")
    credit_note_prefix = factory.Sequence(lambda n: f"CN{n}-")


class BillingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    legal_entity = factory.SubFactory(LegalEntityFactory)
    period_boundary = BillingRule.Boundary.ANNIVERSARY
    day_count = BillingRule.DayCount.ACTUAL_DAYS


class TaxRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRule

    name = factory.Sequence(lambda n: f"Tax {n}")
    taxable = True


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate

    tax_rule = factory.SubFactory(TaxRuleFactory)
    name = "VAT 20%"
    rate_percent = Decimal("20")


class FamilyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductFamily

    name = factory.Sequence(lambda n: f"Family {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    """A recurring monthly product billed in advance, with both rules: ready once priced."""

    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    charge_type = Product.ChargeType.RECURRING
    billing_type = Product.BillingType.ADVANCE
    billing_frequency = Product.Frequency.MONTHLY
    billing_rule = factory.SubFactory(BillingRuleFactory)
    tax_rule = factory.SubFactory(TaxRuleFactory)


class PriceBookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceBook

    name = factory.Sequence(lambda n: f"Book {n}")
    currency = "EUR"


def make_entry(product, book, *, model="per_unit", unit_price=None, tiers=(), package_size=None, free_units="0", active=True):
    """An entry and its tiers as rows (lower, upper or None, unit_price[, flat_fee]), straight in the database."""
    entry = PriceBookEntry.objects.create(
        product=product, price_book=book, pricing_model=model, active=active,
        unit_price=Money(Decimal(unit_price), book.currency) if unit_price is not None else None,
        package_size=Decimal(package_size) if package_size is not None else None, free_units=Decimal(free_units),
    )
    for row in tiers:
        PriceTier.objects.create(
            entry=entry, lower=Decimal(row[0]), upper=None if row[1] is None else Decimal(row[1]),
            unit_price=Decimal(row[2]), flat_fee=Decimal(row[3]) if len(row) > 3 else Decimal("0"),
        )
    return entry
