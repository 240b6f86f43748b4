"""Exactly once under real concurrency: PostgreSQL, real threads, each on its own connection."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection

from billing_site.errors import DomainError
from billing_site.testing import run_together
from payments import services
from payments.models import GatewayOperation, Payment, PaymentAttempt
from payments.selectors import invoice_balance
from payments.tests.factories import AccountFactory, posted_invoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
DAY = dt.date(2026, 4, 1)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions need PostgreSQL")


def together(*jobs):
    """Run the jobs at the same moment in threads; returns what each returned or raised."""
    return run_together(*jobs)


def test_two_payments_racing_for_one_invoice_never_overpay_it():
    account = AccountFactory()
    invoice = posted_invoice(account, ["100.00"], invoice_date=DAY, due_date=DAY)
    p1, p2 = (services.payment_record(account=account, amount=D("70.00"), currency="EUR", received_date=DAY,
                                      method="check", today=DAY) for _ in range(2))
    results = together(
        lambda: services.payment_allocate(payment=p1, invoice=invoice, amount=D("70.00"), today=DAY),
        lambda: services.payment_allocate(payment=p2, invoice=invoice, amount=D("70.00"), today=DAY),
    )
    assert sorted(type(r).__name__ for r in results) == ["Allocation", "ValidationFailed"]
    assert invoice_balance(invoice) == D("30.00")


def test_one_payment_racing_for_two_invoices_is_never_over_allocated():
    account = AccountFactory()
    a = posted_invoice(account, ["70.00"], invoice_date=DAY, due_date=DAY)
    b = posted_invoice(account, ["70.00"], invoice_date=DAY, due_date=DAY)
    payment = services.payment_record(account=account, amount=D("100.00"), currency="EUR", received_date=DAY,
                                      method="check", today=DAY)
    results = together(
        lambda: services.payment_allocate(payment=payment, invoice=a, amount=D("70.00"), today=DAY),
        lambda: services.payment_allocate(payment=payment, invoice=b, amount=D("70.00"), today=DAY),
    )
    assert sum(isinstance(r, DomainError) for r in results) == 1
    payment.refresh_from_db()
    assert (payment.allocated_amount, payment.unapplied_amount) == (D("70.00"), D("30.00"))


def test_overlapping_runs_and_a_retried_task_charge_each_invoice_once():
    invoices = []
    for i in range(4):
        account = AccountFactory()
        services.payment_method_add(account=account, token="tok_visa", is_autopay=True)
        invoices.append(posted_invoice(account, [f"{100 + i}.00"], invoice_date=DAY, due_date=DAY))
    scheduled = services.payment_run_start(today=DAY, trigger="scheduled")
    manual = services.payment_run_start(today=DAY)
    results = together(
        lambda: services.payment_run_execute(run=scheduled, today=DAY),
        lambda: services.payment_run_execute(run=manual, today=DAY),
        # Celery delivering the scheduled task twice (acks_late after a lost worker).
        lambda: services.payment_run_execute(run=services.payment_run_start(today=DAY, trigger="scheduled"), today=DAY),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert PaymentAttempt.objects.filter(status="succeeded").count() == 4
    assert PaymentAttempt.objects.exclude(status="succeeded").count() == 0
    assert GatewayOperation.objects.filter(operation="charge").count() == 4
    assert Payment.objects.count() == 4
    assert [invoice_balance(i) for i in invoices] == [D("0.00")] * 4


def test_concurrent_allocations_keep_the_balance_column_equal_to_the_rows():
    from invoicing.models import Invoice
    from payments.selectors.balances import invoice_open_by_sum

    account = AccountFactory()
    invoice = posted_invoice(account, ["100.00"], invoice_date=DAY, due_date=DAY)
    payments = [services.payment_record(account=account, amount=D("15.00"), currency="EUR", received_date=DAY,
                                        method="check", today=DAY) for _ in range(8)]
    results = together(*[
        (lambda p=p: services.payment_allocate(payment=p, invoice=invoice, amount=D("15.00"), today=DAY)) for p in payments
    ])
    # 6 × 15.00 fit in 100.00; the 7th and 8th find only 10.00 open inside the lock.
    assert sorted(type(r).__name__ for r in results) == ["Allocation"] * 6 + ["ValidationFailed"] * 2
    invoice.refresh_from_db()
    assert (invoice.open_amount, invoice.payment_status) == (D("10.000000"), "partially_paid")
    assert invoice_open_by_sum(invoice.pk) == D("10.00")
    taken_back = together(*[
        (lambda p=p: services.payment_unallocate(payment=p, invoice=invoice, today=DAY))
        for p, r in zip(payments, results, strict=True) if not isinstance(r, Exception)
    ])
    assert all(isinstance(r, list) for r in taken_back)
    assert Invoice.objects.values_list("open_amount", "payment_status").get(pk=invoice.pk) == (D("100.000000"), "unpaid")


def test_a_credit_note_posted_while_a_payment_is_allocated_applies_only_what_is_left_open():
    """Posting a credit note applies it in its own transaction under the invoice lock, as payments do."""
    from invoicing.services import credit_note_create, credit_note_post
    from payments.models import Allocation
    from payments.selectors import credit_note_balance
    from payments.selectors.balances import invoice_open_by_sum

    account = AccountFactory()
    invoice = posted_invoice(account, ["120.00"], invoice_date=DAY, due_date=DAY)
    draft = credit_note_create(invoice=invoice, lines={invoice.lines.get().pk: "20.00"}, reason="Goodwill", actor=None)
    payment = services.payment_record(account=account, amount=D("110.00"), currency="EUR", received_date=DAY,
                                      method="check", today=DAY)
    results = together(
        lambda: credit_note_post(credit_note=draft, actor=None, today=DAY),
        lambda: services.payment_allocate(payment=payment, invoice=invoice, amount=D("110.00"), today=DAY),
    )
    note, allocated = results
    assert not isinstance(note, Exception), note
    invoice.refresh_from_db()
    credited = Allocation.objects.get(credit_note=note).amount
    if isinstance(allocated, Exception):  # the credit note went first: 100.00 left, 110.00 refused
        assert str(allocated.fields["amount"][0]) == f"Only €100.00 is open on invoice {invoice.number}."
        assert (credited, invoice.open_amount, invoice.payment_status) == (D("20.00"), D("100.00"), "partially_paid")
    else:  # the payment went first: 10.00 left, the credit note takes it and keeps 10.00 open
        assert (credited, invoice.open_amount, invoice.payment_status) == (D("10.00"), D("0.00"), "paid")
        assert credit_note_balance(note) == D("10.00")
    assert invoice_open_by_sum(invoice.pk) == invoice.open_amount
