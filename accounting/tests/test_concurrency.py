"""Exactly once under real concurrency: two processors at once journal each document once."""

import datetime as dt

import pytest
from django.db import connection

from .factories import AccountFactory, assert_journaled_once, books_passes_at_once, posted_invoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
JAN1 = dt.date(2025, 1, 1)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL")


def test_two_processors_at_once_journal_each_invoice_once():
    for n in range(6):
        posted_invoice(AccountFactory(), [(f"{100 + n}.00", JAN1, dt.date(2026, 1, 1), None)], invoice_date=JAN1)
    assert_journaled_once(books_passes_at_once(3, today=JAN1), invoices=6, revenue="615.00", journal="738.00")
