"""A quote is issued by the legal entity of its price book (else its products' billing rules'),
and taxed with that entity's rates."""

from decimal import Decimal

import pytest
from django.urls import reverse
from djmoney.money import Money

from billing_site.errors import ValidationFailed
from catalog.models import BillingRule, LegalEntity, PriceBook, PriceBookEntry, TaxRate
from quotes import services
from quotes.services.documents import quote_pdf_context
from quotes.tests import factories

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def usd(cat):
    """Recur Inc. sells through a USD book; the products' billing rule still names the French company."""
    inc = LegalEntity.objects.create(name="Recur Inc.", country="US", currency="USD", invoice_prefix="US-INV",
                                     credit_note_prefix="US-CN")
    TaxRate.objects.create(tax_rule=cat["vat"], legal_entity=inc, country="US", name="Sales tax 7.25%", rate_percent=D("7.25"))
    book = PriceBook.objects.create(name="Standard USD", currency="USD", is_standard=True, legal_entity=inc)
    for product, price in ((cat["platform"], "1320"), (cat["onboarding"], "550")):
        PriceBookEntry.objects.create(price_book=book, product=product, pricing_model="per_unit", unit_price=Money(price, "USD"))
    return {"inc": inc, "book": book}


def test_a_quote_in_the_usd_book_is_issued_and_taxed_by_recur_inc(cat, usd, sales_user, sales_client):
    account = factories.account(name="Blue Ridge Analytics", country="US", currency="USD")
    quote = factories.draft(actor=sales_user, account=account, book=usd["book"])
    line = services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="2")
    quote.refresh_from_db()
    # 2 users × 1,320.00 for the 12-month term, and Recur Inc.'s 7.25 % sales tax: 191.40.
    assert (line.line_total, line.tax_label, line.tax_amount, line.pricing_snapshot["legal_entity_id"]) == (
        D("2640.00"), "Sales tax 7.25%", D("191.40"), usd["inc"].pk
    )
    assert (quote.legal_entity, quote.tax_estimate) == (usd["inc"], D("191.40"))
    assert quote_pdf_context(quote=quote)["entity"] == usd["inc"]
    page = sales_client.get(reverse("quotes:detail", args=[quote.pk])).content.decode()
    assert "Recur Inc." in page and "Recur Demo SAS" not in page


def test_the_same_product_in_the_eur_book_stays_with_the_billing_rules_entity(cat, usd, sales_user, acct):
    quote = factories.draft(actor=sales_user, account=acct, book=cat["book"])  # the EUR book names no entity
    line = services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="2")
    quote.refresh_from_db()
    assert (quote.legal_entity, line.tax_label, line.tax_amount) == (cat["entity"], "VAT 20%", D("480.00"))


def test_one_entity_per_quote_only_binds_books_without_an_entity(cat, usd, sales_user, acct):
    us_rule = BillingRule.objects.create(name="US anniversary", legal_entity=usd["inc"])
    cat["onboarding"].billing_rule = us_rule
    cat["onboarding"].save()
    quote = factories.draft(actor=sales_user, account=acct, book=cat["book"])
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1")
    with pytest.raises(ValidationFailed) as exc:
        services.quote_line_add(quote=quote, actor=sales_user, product=cat["onboarding"], quantity="1")
    assert exc.value.fields == {"product": [
        "Onboarding is sold by Recur Inc.; this quote's products are sold by Recur Demo SAS. Quote it separately."
    ]}
    # Through the USD book, Recur Inc. sells both, whatever their billing rules say.
    account = factories.account(name="Blue Ridge Analytics", country="US", currency="USD")
    us_quote = factories.draft(actor=sales_user, account=account, book=usd["book"])
    services.quote_line_add(quote=us_quote, actor=sales_user, product=cat["platform"], quantity="1")
    services.quote_line_add(quote=us_quote, actor=sales_user, product=cat["onboarding"], quantity="1")
    us_quote.refresh_from_db()
    assert (us_quote.legal_entity, us_quote.lines.count()) == (usd["inc"], 2)
