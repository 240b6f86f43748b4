"""The issuing legal entity comes from the price book the product is sold through.

One product priced in a EUR book (sold by the French company) and a USD book (sold by the US
company): each order's subscriptions, invoices, number series and tax follow its book's entity; a
book that names no entity leaves it to the product's billing rule."""

from datetime import date
from decimal import Decimal

import pytest
from djmoney.money import Money

from catalog.models import LegalEntity, PriceBook, PriceBookEntry, TaxRate
from invoicing import services
from invoicing.models import Invoice
from invoicing.tests.factories import AccountFactory, activate, make_catalog

pytestmark = pytest.mark.django_db
START = date(2025, 1, 15)


@pytest.fixture
def catalog(db):
    catalog = make_catalog()  # its billing rules name Recur SAS (prefix F); VAT 20 % in FR, 0 % elsewhere
    catalog.inc = LegalEntity.objects.create(
        name="Recur Inc.", country="US", currency="USD", invoice_prefix="US-INV", credit_note_prefix="US-CN"
    )
    TaxRate.objects.create(tax_rule=catalog.tax, legal_entity=catalog.inc, country="US", name="Sales tax 7.25%",
                           rate_percent=Decimal("7.25"))
    catalog.eur.legal_entity = catalog.entity
    catalog.eur.save()
    catalog.usd.legal_entity = catalog.inc
    catalog.usd.save()
    return catalog


@pytest.fixture
def seat(catalog):
    """120.00 (EUR or USD) a month per seat, billed monthly in advance, priced in both books."""
    return catalog.product("saas-seat", price="1440.00", frequency=1, books=("eur", "usd"))


def run(target):
    return services.invoice_run_execute(
        run=services.invoice_run_create(actor=None, target_date=target, start=False, auto_post=True)
    )


def facts(invoice):
    return (invoice.number, invoice.legal_entity.name, invoice.snapshot["legal_entity"]["name"], invoice.currency,
            invoice.subtotal_amount, invoice.tax_amount, invoice.total_amount,
            list(invoice.lines.values_list("tax_label", flat=True)))


def test_each_book_invoices_through_its_own_legal_entity(catalog, seat):
    american = AccountFactory(name="Blue Ridge Analytics", country="US", currency="USD")
    french = AccountFactory(name="Maison Verte", country="FR", currency="EUR")
    us_contract = activate(catalog=catalog, products=[(seat, "2")], account=american, start=START, price_book=catalog.usd)
    fr_contract = activate(catalog=catalog, products=[(seat, "2")], account=french, start=START)

    assert [(s.product.sku, s.currency, s.legal_entity.name, s.billing_rule.legal_entity.name)
            for s in us_contract.subscriptions.all()] == [("saas-seat", "USD", "Recur Inc.", "Recur SAS")]
    assert [(s.currency, s.legal_entity.name) for s in fr_contract.subscriptions.all()] == [("EUR", "Recur SAS")]

    result = run(START)
    assert (result.invoices_count, result.totals) == (2, {"EUR": "288.00", "USD": "257.40"})
    # The US company's own series and its sales tax (7.25 % of 240.00 = 17.40); the French VAT 20 %.
    assert facts(Invoice.objects.get(account=american)) == (
        "US-INV000001", "Recur Inc.", "Recur Inc.", "USD", Decimal("240"), Decimal("17.4"), Decimal("257.4"), ["Sales tax 7.25%"],
    )
    assert facts(Invoice.objects.get(account=french)) == (
        "F000001", "Recur SAS", "Recur SAS", "EUR", Decimal("240"), Decimal("48"), Decimal("288"), ["VAT 20%"],
    )


def test_a_book_without_legal_entity_falls_back_to_the_billing_rule(catalog):
    partner = PriceBook.objects.create(name="Partner USD", currency="USD")
    product = catalog.product("partner-seat", price="1440.00", frequency=1, books=())
    PriceBookEntry.objects.create(price_book=partner, product=product, pricing_model="per_unit", unit_price=Money("1440.00", "USD"))
    account = AccountFactory(name="Blue Ridge Analytics", country="US", currency="USD")
    contract = activate(catalog=catalog, products=[(product, "1")], account=account, start=START, price_book=partner)

    assert [s.legal_entity.name for s in contract.subscriptions.all()] == ["Recur SAS"]
    run(START)
    # The billing rule's entity, its series and its rates (no rate of Recur SAS for the US: 0 %).
    assert facts(Invoice.objects.get()) == (
        "F000001", "Recur SAS", "Recur SAS", "USD", Decimal("120"), Decimal("0"), Decimal("120"), ["VAT 0%"],
    )
