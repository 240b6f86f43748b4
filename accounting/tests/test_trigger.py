"""Posting reaches the books within seconds: the books listen to the kernel's outbox and enqueue a
pass after the commit; two passes at once still journal each document once."""

import datetime as dt
from decimal import Decimal as D
from unittest import mock

import pytest
from django.db import connection
from django.db.models import Sum

from accounting import tasks
from accounting.models import JournalEntry, RevenueLine
from billing_site.events import event_record

from .factories import AccountFactory, assert_journaled_once, books_passes_at_once, posted_invoice

JAN1 = dt.date(2025, 1, 1)


@pytest.fixture(autouse=True)
def _fresh_trigger():
    tasks.trigger.reset()
    yield
    tasks.trigger.reset()


@pytest.mark.django_db(transaction=True)
def test_posting_an_invoice_journals_it_after_commit(celery_eager):
    invoice = posted_invoice(AccountFactory(), [("365.00", JAN1, dt.date(2026, 1, 1), None)], invoice_date=JAN1)
    entry = JournalEntry.objects.get(kind=JournalEntry.Kind.INVOICE, invoice=invoice)
    assert sorted((line.ledger_account.code, line.debit, line.credit) for line in entry.lines.all()) == [
        ("411", D("438.00"), D("0")), ("44571", D("0"), D("73.00")), ("487", D("0"), D("365.00"))]
    assert RevenueLine.objects.filter(invoice_line__invoice=invoice).aggregate(s=Sum("amount"))["s"] == D("365.00")


@pytest.mark.django_db(transaction=True)
def test_only_books_events_enqueue_a_pass_and_a_burst_enqueues_one():
    account = AccountFactory()
    with mock.patch.object(tasks.books_process, "apply_async") as enqueue:
        event_record(type="account.updated", account_id=account.pk, payload={})  # first look: one pass
        assert enqueue.call_count == 1
        tasks.trigger.due_until = 0.0  # that pass has run
        event_record(type="account.updated", account_id=account.pk, payload={})
        assert enqueue.call_count == 1  # nothing for the books
        posted_invoice(account, [("10.00", JAN1, dt.date(2025, 2, 1), None)], invoice_date=JAN1)
        posted_invoice(account, [("20.00", JAN1, dt.date(2025, 2, 1), None)], invoice_date=JAN1)
        assert enqueue.call_count == 2  # the second posting rides on the pass the first one enqueued
        assert enqueue.call_args.kwargs == {"countdown": tasks.PASS_DELAY_SECONDS}


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_two_passes_at_once_over_many_chunks_journal_each_document_once(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL")
    monkeypatch.setattr("accounting.services.journal.CHUNK", 4)
    with mock.patch.object(tasks.books_process, "apply_async"):
        for n in range(14):
            posted_invoice(AccountFactory(), [(f"{100 + n}.00", JAN1, dt.date(2026, 1, 1), None)], invoice_date=JAN1)
    assert_journaled_once(books_passes_at_once(2, today=JAN1), invoices=14, revenue="1491.00", journal="1789.20")
