"""Starting states for quote tests: a small catalog built with the ORM, accounts, draft quotes.

Readable fixed prices: a 12-month "Platform" subscription at 1,200.00 per user, a one-time
"Onboarding" at 500.00, metered "API calls" at 0.002 per call, a tiered "Storage" price.
Everything later (submitted, approved, presented…) comes from calling the services.
"""

import datetime as dt
from decimal import Decimal

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
from customers.tests.factories import AccountFactory
from quotes import services

TODAY = dt.date(2026, 3, 10)


def catalog(currency: str = "EUR") -> dict:
    """One legal entity, VAT 20 % in France, a standard book, and four ready products."""
    entity = LegalEntity.objects.create(
        name="Recur Demo SAS", address_line1="1 rue de la Paix", postal_code="75002", city="Paris", country="FR",
        tax_id="FR12345678901", currency="EUR", invoice_prefix="INV", credit_note_prefix="CN",
        email="billing@recur.test", website="recur.test", bank_details="IBAN FR76 0000 0000 0000",
    )
    vat = TaxRule.objects.create(name="Standard VAT")
    TaxRate.objects.create(tax_rule=vat, country="FR", name="VAT 20%", rate_percent=Decimal("20"))
    rule = BillingRule.objects.create(name="Monthly anniversary", legal_entity=entity)
    software = ProductFamily.objects.create(name="Software", approval_discount_percent=Decimal("20"))
    services_family = ProductFamily.objects.create(name="Services", approval_discount_percent=Decimal("10"))
    book = PriceBook.objects.create(name=f"Standard {currency}", currency=currency, is_standard=True)

    def product(sku, name, charge_type, family, **kw):
        return Product.objects.create(
            sku=sku, name=name, charge_type=charge_type, family=family, billing_rule=rule, tax_rule=vat,
            billing_type="arrears" if charge_type == "usage" else "advance", **kw,
        )

    platform = product("PLAT-USER", "Platform", "recurring", software, billing_frequency=1, unit_of_measure="user")
    onboarding = product("ONB-1", "Onboarding", "one_time", services_family)
    api_calls = product("API-CALL", "API calls", "usage", software, billing_frequency=1, unit_of_measure="call")
    storage = product("STOR-TB", "Storage", "recurring", software, billing_frequency=3, default_term_months=12)
    PriceBookEntry.objects.create(price_book=book, product=platform, pricing_model="per_unit", unit_price=Money("1200", currency))
    PriceBookEntry.objects.create(price_book=book, product=onboarding, pricing_model="flat", unit_price=Money("500", currency))
    PriceBookEntry.objects.create(price_book=book, product=api_calls, pricing_model="per_unit", unit_price=Money("0.002", currency))
    tiered = PriceBookEntry.objects.create(price_book=book, product=storage, pricing_model="tiered")
    PriceTier.objects.create(entry=tiered, lower=Decimal(1), upper=Decimal(11), unit_price=Decimal("100"))
    PriceTier.objects.create(entry=tiered, lower=Decimal(11), upper=None, unit_price=Decimal("80"))
    return {
        "entity": entity, "vat": vat, "rule": rule, "book": book, "software": software, "services": services_family,
        "platform": platform, "onboarding": onboarding, "api_calls": api_calls, "storage": storage,
    }


def account(**kwargs):
    defaults = {"credit_limit_amount": Decimal("0"), "country": "FR", "currency": "EUR"}
    return AccountFactory(**{**defaults, **kwargs})


def draft(*, actor, account, book, start=dt.date(2026, 4, 1), term=12, today=TODAY, **kwargs):
    return services.quote_create(
        actor=actor, account=account, price_book=book, start_date=start, term_months=term,
        expiration_date=kwargs.pop("expiration_date", dt.date(2026, 4, 30)), today=today, **kwargs,
    )
