"""Exactly once under real concurrency: two processors at once journal each document once."""

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.db import connection, connections
from django.db.models import Sum

from accounting.models import JournalEntry, JournalLine, RevenueLine
from accounting.services import books_process

from .factories import AccountFactory, posted_invoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
JAN1 = dt.date(2025, 1, 1)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL")


def test_two_processors_at_once_journal_each_invoice_once():
    for n in range(6):
        posted_invoice(AccountFactory(), [(f"{100 + n}.00", JAN1, dt.date(2026, 1, 1), None)], invoice_date=JAN1)
    barrier = threading.Barrier(3)
    results = []

    def job():
        try:
            barrier.wait()
            results.append(books_process(today=JAN1))
        except Exception as exc:  # collected for the assertion
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=job) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r["invoices"] for r in results) == 6
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.INVOICE).count() == 6
    assert RevenueLine.objects.count() == 6 * 12
    assert RevenueLine.objects.aggregate(s=Sum("amount"))["s"] == D("615.00")
    totals = JournalLine.objects.aggregate(d=Sum("debit"), c=Sum("credit"))
    assert totals["d"] == totals["c"] == D("738.00")
