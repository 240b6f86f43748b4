"""An invoice's balance and payment status are columns, kept in the transaction of every allocation.

open_amount = total − payments allocated − credits allocated, whichever service wrote the rows
(payment allocations, credit note allocations, unallocations); the database
refuses a balance below 0 or above the total.
"""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, transaction

from invoicing.models import Invoice, PaymentStatus
from invoicing.services import invoice_settle
from payments import services
from payments.models import Allocation
from payments.selectors import invoices_with_balance
from payments.selectors.balances import invoice_open_by_sum, payment_state, with_payment_state
from payments.tests.factories import AccountFactory, posted_credit_note, posted_invoice

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 15)


def state(invoice):
    invoice.refresh_from_db()
    return invoice.open_amount, invoice.payment_status


def pay(account, amount):
    return services.payment_record(account=account, amount=D(amount), currency="EUR", received_date=TODAY,
                                   method="bank_transfer", today=TODAY)


def test_a_posted_invoice_starts_unpaid_with_all_of_it_open():
    invoice = posted_invoice(AccountFactory(), ["100.00", "20.50"], invoice_date=TODAY)
    assert state(invoice) == (D("120.500000"), PaymentStatus.UNPAID)


def test_payments_move_an_invoice_from_unpaid_to_partially_paid_to_paid_and_back():
    account = AccountFactory()
    invoice = posted_invoice(account, ["100.00"], invoice_date=TODAY)
    payment = pay(account, "100.00")
    services.payment_allocate(payment=payment, invoice=invoice, amount="40.00", today=TODAY)
    assert state(invoice) == (D("60.000000"), PaymentStatus.PARTIALLY_PAID)
    services.payment_allocate(payment=payment, invoice=invoice, amount="60.00", today=TODAY)
    assert state(invoice) == (D("0.000000"), PaymentStatus.PAID)
    services.payment_unallocate(payment=payment, invoice=invoice, amount="25.00", today=TODAY)
    assert state(invoice) == (D("25.000000"), PaymentStatus.PARTIALLY_PAID)
    services.payment_unallocate(payment=payment, invoice=invoice, today=TODAY)
    assert state(invoice) == (D("100.000000"), PaymentStatus.UNPAID)
    assert invoice_open_by_sum(invoice.pk) == D("100.00")


def test_credit_notes_posted_against_the_invoice_or_applied_later_count_towards_paid():
    account = AccountFactory()
    invoice = posted_invoice(account, ["100.00"], invoice_date=TODAY)
    posted_credit_note(account, "30.00", credit_date=TODAY, invoice=invoice)
    assert state(invoice) == (D("70.000000"), PaymentStatus.PARTIALLY_PAID)
    loose = posted_credit_note(account, "70.00", credit_date=TODAY)
    services.credit_note_allocate(credit_note=loose, invoice=invoice, amount="70.00", today=TODAY)
    assert state(invoice) == (D("0.000000"), PaymentStatus.PAID)
    services.credit_note_unallocate(credit_note=loose, invoice=invoice, today=TODAY)
    assert state(invoice) == (D("70.000000"), PaymentStatus.PARTIALLY_PAID)
    assert invoice_open_by_sum(invoice.pk) == D("70.00")


def test_cancel_and_rebill_credits_what_is_open():
    from invoicing.services import invoice_cancel_and_rebill

    account = AccountFactory()
    invoice = posted_invoice(account, ["100.00"], invoice_date=TODAY)
    services.payment_allocate(payment=pay(account, "30.00"), invoice=invoice, amount="30.00", today=TODAY)
    invoice_cancel_and_rebill(invoice=invoice, actor=None, today=TODAY)
    assert state(invoice) == (D("0.000000"), PaymentStatus.PAID)
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.CANCELLED


def test_the_database_refuses_a_balance_below_zero_or_above_the_total():
    invoice = posted_invoice(AccountFactory(), ["100.00"], invoice_date=TODAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        invoice_settle(invoice_id=invoice.pk, amount=D("100.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        invoice_settle(invoice_id=invoice.pk, amount=D("-0.01"))
    assert state(invoice) == (D("100.000000"), PaymentStatus.UNPAID)


def test_overdue_is_an_open_invoice_past_its_due_date():
    account = AccountFactory()
    due = posted_invoice(account, ["100.00"], invoice_date=TODAY, due_date=TODAY + dt.timedelta(days=30))
    paid = posted_invoice(account, ["50.00"], invoice_date=TODAY, due_date=TODAY + dt.timedelta(days=30))
    services.payment_allocate(payment=pay(account, "50.00"), invoice=paid, amount="50.00", today=TODAY)
    later = TODAY + dt.timedelta(days=31)
    rows = dict(with_payment_state(Invoice.objects.filter(account=account), today=later).values_list("pk", "pay_state"))
    assert rows == {due.pk: "overdue", paid.pk: "paid"}
    due.refresh_from_db()
    assert (payment_state(due, today=TODAY), payment_state(due, today=later)) == ("unpaid", "overdue")


def test_lists_read_the_column_and_keep_the_payment_and_credit_figures():
    account = AccountFactory()
    invoice = posted_invoice(account, ["100.00"], invoice_date=TODAY)
    posted_credit_note(account, "10.00", credit_date=TODAY, invoice=invoice)
    services.payment_allocate(payment=pay(account, "20.00"), invoice=invoice, amount="20.00", today=TODAY)
    row = invoices_with_balance(Invoice.objects.filter(pk=invoice.pk)).get()
    assert (row.payments_amount, row.credits_amount, row.open_amount, row.pay_status) == (
        D("20.00"), D("10.00"), D("70.000000"), PaymentStatus.PARTIALLY_PAID)


BEFORE_THE_MOVE = [("invoicing", "0007_merge_20261130_1953"), ("payments", "0002_fill_invoice_open_amount")]


@pytest.fixture
def before_the_move():
    """The database as it was while invoicing still had its own credit-note allocation rows."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_THE_MOVE)
    yield MigrationExecutor(connection).loader.project_state(BEFORE_THE_MOVE).apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_data_migrations_fill_the_columns_and_move_credit_allocations_into_payments(before_the_move):
    import importlib

    from django.db.models import F

    old = before_the_move
    fill = importlib.import_module("payments.migrations.0002_fill_invoice_open_amount").fill
    account = AccountFactory()
    partly = posted_invoice(account, ["100.00"], invoice_date=TODAY)
    paid = posted_invoice(account, ["50.00"], invoice_date=TODAY)
    untouched = posted_invoice(account, ["30.00"], invoice_date=TODAY)
    credited = posted_invoice(account, ["120.00"], invoice_date=TODAY)
    payment = pay(account, "90.00")
    services.payment_allocate(payment=payment, invoice=partly, amount="40.00", today=TODAY)
    services.payment_allocate(payment=payment, invoice=paid, amount="50.00", today=TODAY)
    note = posted_credit_note(account, "20.00", credit_date=TODAY)
    # The row invoicing wrote when it posted a credit note against its invoice, before the move.
    written = dt.datetime(2026, 3, 14, 23, 30, tzinfo=dt.UTC)  # 15 March in Paris
    old_row = old.get_model("invoicing", "CreditNoteAllocation").objects.create(
        credit_note_id=note.pk, invoice_id=credited.pk, amount=D("20.00"))
    old.get_model("invoicing", "CreditNoteAllocation").objects.filter(pk=old_row.pk).update(created_at=written)
    Invoice.objects.update(open_amount=F("total_amount"), payment_status=PaymentStatus.UNPAID)  # as before the columns
    fill(old, None)
    assert [state(i) for i in (partly, paid, untouched, credited)] == [
        (D("60.000000"), PaymentStatus.PARTIALLY_PAID), (D("0.000000"), PaymentStatus.PAID),
        (D("30.000000"), PaymentStatus.UNPAID), (D("100.000000"), PaymentStatus.PARTIALLY_PAID)]
    importlib.import_module("payments.migrations.0003_credit_note_allocations_move").move(old, None)
    moved = Allocation.objects.get(credit_note=note)
    assert (moved.invoice_id, moved.account_id, moved.currency, moved.amount, moved.allocated_date, moved.created_at,
            moved.actor_label) == (credited.pk, account.pk, "EUR", D("20.000000"), dt.date(2026, 3, 15), written, "system")
    # The balances already counted the old row; they match the one set of rows now.
    assert invoice_open_by_sum(credited.pk) == D("100.00")
    assert state(credited) == (D("100.000000"), PaymentStatus.PARTIALLY_PAID)
