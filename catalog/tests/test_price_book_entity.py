"""A price book names the legal entity that sells through it: form, page, API, service, selector."""

import pytest
from django.urls import reverse

from billing_site.errors import ValidationFailed
from billing_site.models import AuditLog
from catalog import services
from catalog.models import PriceBook
from catalog.selectors import legal_entity_for
from catalog.tests.factories import (
    BillingRuleFactory,
    LegalEntityFactory,
    PriceBookFactory,
    ProductFactory,
    make_entry,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def france():
    return LegalEntityFactory(name="Recur France SAS", country="FR", currency="EUR")


@pytest.fixture
def inc():
    return LegalEntityFactory(name="Recur Inc.", country="US", currency="USD")


def test_the_books_entity_wins_over_the_billing_rules(france, inc):
    product = ProductFactory(billing_rule=BillingRuleFactory(legal_entity=france))
    usd = PriceBookFactory(name="Standard USD", currency="USD", legal_entity=inc)
    partner = PriceBookFactory(name="Partner USD", currency="USD")
    assert legal_entity_for(price_book=usd, product=product) == inc
    assert legal_entity_for(price_book=partner, product=product) == france  # blank: the billing rule decides


def test_an_entity_may_sell_in_another_currency_but_not_while_inactive(finance_user, france, inc):
    # Recur France SAS (EUR) selling through a USD book is allowed: entities sell in several currencies.
    book = services.price_book_create(actor=finance_user, data={"name": "Export USD", "currency": "USD", "legal_entity": france})
    assert book.legal_entity == france
    inc.active = False
    inc.save()
    with pytest.raises(ValidationFailed) as exc:
        services.price_book_update(price_book=book, actor=finance_user, data={"legal_entity": inc})
    assert exc.value.fields == {"legal_entity": ["Recur Inc. is inactive: it cannot sell through a price book."]}
    book = services.price_book_update(price_book=book, actor=finance_user, data={"legal_entity": None})
    assert book.legal_entity is None
    assert AuditLog.objects.filter(action="updated", object_id=str(book.pk)).get().data == {"legal_entity": [str(france.pk), None]}


def test_the_form_sets_and_the_pages_show_the_legal_entity(finance_client, france, inc):
    inactive = LegalEntityFactory(name="Old Ltd", active=False)
    response = finance_client.get(reverse("catalog:price-book-create"))
    field = response.context["form"].fields["legal_entity"]
    assert [e.name for e in field.queryset] == ["Recur France SAS", "Recur Inc."]
    assert inactive not in field.queryset
    assert field.help_text == "The company that sells and invoices through this book; blank: the product's billing rule decides"
    response = finance_client.post(
        reverse("catalog:price-book-create"), {"name": "Standard USD", "currency": "USD", "active": "on", "legal_entity": inc.pk}
    )
    book = PriceBook.objects.get(name="Standard USD")
    assert response["Location"] == reverse("catalog:price-book-detail", args=[book.pk])
    assert book.legal_entity == inc
    page = finance_client.get(reverse("catalog:price-book-detail", args=[book.pk])).content.decode()
    assert "Sold and invoiced by" in page and "Recur Inc." in page
    listing = finance_client.get(reverse("catalog:price-books")).content.decode()
    assert "Recur Inc." in listing
    # Cleared on edit: the products' billing rules decide again.
    finance_client.post(reverse("catalog:price-book-edit", args=[book.pk]), {"name": "Standard USD", "currency": "USD", "active": "on", "legal_entity": ""})
    book.refresh_from_db()
    assert book.legal_entity is None
    page = finance_client.get(reverse("catalog:price-book-detail", args=[book.pk])).content.decode()
    assert "No legal entity: each product's billing rule decides." in page


def test_the_product_page_says_who_sells_it_in_each_book(finance_client, france, inc):
    product = ProductFactory(billing_rule=BillingRuleFactory(legal_entity=france))
    make_entry(product, PriceBookFactory(name="Standard EUR", currency="EUR"), unit_price="10")
    make_entry(product, PriceBookFactory(name="Standard USD", currency="USD", legal_entity=inc), unit_price="11")
    response = finance_client.get(reverse("catalog:product-detail", args=[product.pk]))
    assert [(e.price_book.name, e.sold_by.name) for e in response.context["entries"]] == [
        ("Standard EUR", "Recur France SAS"), ("Standard USD", "Recur Inc."),
    ]


def test_the_api_sets_filters_and_shows_the_legal_entity(finance_api, sales_api, france, inc):
    response = finance_api.post("/api/v1/price-books/", {"name": "Standard USD", "currency": "USD", "legal_entity": inc.pk}, format="json")
    assert response.status_code == 201, response.json()
    book_id = response.json()["id"]
    assert response.json() == {
        "id": book_id, "name": "Standard USD", "currency": "USD", "active": True, "is_standard": False, "legal_entity": inc.pk,
    }
    PriceBookFactory(name="Standard EUR", currency="EUR", legal_entity=france)
    listed = sales_api.get("/api/v1/price-books/", {"legal_entity": inc.pk}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(b["name"], b["legal_entity"]) for b in rows] == [("Standard USD", inc.pk)]
    response = finance_api.patch(f"/api/v1/price-books/{book_id}/", {"legal_entity": None}, format="json")
    assert (response.status_code, response.json()["legal_entity"]) == (200, None)
    response = finance_api.patch(f"/api/v1/price-books/{book_id}/", {"legal_entity": 999999}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["legal_entity"]
