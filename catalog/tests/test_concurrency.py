"""Two finance users saving the same price at once: one wins, the other gets a field error (PostgreSQL)."""

from functools import partial

import pytest
from django.db import connection

from billing_site.errors import ValidationFailed
from billing_site.testing import run_together
from catalog import services
from catalog.models import PriceBook, PriceBookEntry, PriceTier
from catalog.tests.factories import PriceBookFactory, ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions need PostgreSQL")


def _race(target, count: int = 2) -> list:
    """Run `target(i)` in `count` threads started together; return each result or exception."""
    return run_together(*(partial(target, i) for i in range(count)))


def test_two_first_prices_for_one_product_and_book_make_one_entry():
    product = ProductFactory(name="Seats")
    book = PriceBookFactory(name="Standard EUR", currency="EUR")
    tiers = [
        [{"lower": "1", "upper": "11", "unit_price": "10"}, {"lower": "11", "upper": None, "unit_price": "8"}],
        [{"lower": "0", "upper": None, "unit_price": "9"}],
    ]

    results = _race(
        lambda i: services.entry_save(actor=None, product=product, price_book=book, data={"pricing_model": "tiered"}, tiers=tiers[i])
    )

    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], ValidationFailed)
    assert errors[0].fields == {"price_book": ["Seats already has a price in Standard EUR."]}
    entry = PriceBookEntry.objects.get()
    winner = tiers[results.index(next(r for r in results if not isinstance(r, Exception)))]
    assert PriceTier.objects.filter(entry=entry).count() == len(winner)


def test_two_books_marked_standard_at_once_leave_one_standard():
    results = _race(
        lambda i: services.price_book_create(actor=None, data={"name": f"Book {i}", "currency": "EUR", "is_standard": True})
    )
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, ValidationFailed)]
    assert PriceBook.objects.filter(currency="EUR", is_standard=True).count() == 1
