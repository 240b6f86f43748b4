import datetime as dt
from decimal import Decimal as D

import pytest

from billing_site.errors import InvalidTransition, ValidationFailed
from billing_site.models import AuditLog
from invoicing.models import Invoice
from payments import services
from payments.models import Allocation, Payment
from payments.selectors import (
    PaymentStatus,
    credit_note_balance,
    invoice_balance,
    invoice_payment_status,
    line_balance,
    open_invoices,
)
from payments.tests.factories import AccountFactory, posted_credit_note, posted_invoice

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 15)


def pay(account, amount, **kw):
    return services.payment_record(
        account=account, amount=D(amount), currency=kw.pop("currency", "EUR"), received_date=kw.pop("received_date", TODAY),
        method=kw.pop("method", "bank_transfer"), today=TODAY, **kw,
    )


def figures(payment):
    payment.refresh_from_db()
    return payment.allocated_amount, payment.refunded_amount, payment.unapplied_amount


def test_record_a_payment_keeps_it_unapplied_and_audits(finance_user):
    account = AccountFactory()
    payment = pay(account, "250.00", actor=finance_user, reference="VIR 123")
    assert figures(payment) == (D("0"), D("0"), D("250.00"))
    row = AuditLog.objects.get(object_type="payments.payment", object_id=str(payment.pk))
    assert (row.action, row.actor_label, row.message) == ("recorded", "fiona", "€250.00 received by Bank transfer")


@pytest.mark.parametrize(
    ("field", "data", "message"),
    [
        ("amount", {"amount": "0"}, "The amount must be greater than zero."),
        ("amount", {"amount": "-5"}, "The amount must be greater than zero."),
        ("amount", {"amount": "10.005"}, "EUR amounts have at most 2 decimals."),
        ("currency", {"currency": "XYZ"}, "“XYZ” is not a supported currency."),
        ("method", {"method": "bitcoin"}, "Choose a payment method."),
        ("received_date", {"received_date": TODAY + dt.timedelta(days=1)}, "The payment cannot be received in the future."),
    ],
)
def test_record_refuses_bad_input_and_saves_nothing(field, data, message):
    account = AccountFactory()
    args = {"amount": "10", "currency": "EUR", "received_date": TODAY, "method": "check", **data}
    with pytest.raises(ValidationFailed) as exc:
        services.payment_record(account=account, amount=D(args["amount"]), currency=args["currency"],
                                received_date=args["received_date"], method=args["method"], today=TODAY)
    assert exc.value.fields[field] == [message]
    assert Payment.objects.count() == 0


def test_partial_then_full_payment_moves_the_status():
    account = AccountFactory()
    invoice = posted_invoice(account, ["100.00", "20.00"], invoice_date=dt.date(2026, 2, 1))
    assert (invoice_balance(invoice), invoice_payment_status(invoice)) == (D("120.00"), PaymentStatus.UNPAID)
    first = pay(account, "50.00")
    services.payment_allocate(payment=first, invoice=invoice, amount=D("50.00"), today=TODAY)
    assert (invoice_balance(invoice), invoice_payment_status(invoice)) == (D("70.00"), PaymentStatus.PARTIALLY_PAID)
    assert figures(first) == (D("50.00"), D("0"), D("0.00"))
    second = pay(account, "100.00")
    services.payment_allocate(payment=second, invoice=invoice, amount=D("70.00"), today=TODAY)
    assert (invoice_balance(invoice), invoice_payment_status(invoice)) == (D("0.00"), PaymentStatus.PAID)
    assert figures(second) == (D("70.00"), D("0"), D("30.00"))


def test_allocation_never_exceeds_the_payment_or_the_invoice():
    account = AccountFactory()
    invoice = posted_invoice(account, ["80.00"], invoice_date=dt.date(2026, 2, 1))
    payment = pay(account, "100.00")
    with pytest.raises(ValidationFailed) as exc:
        services.payment_allocate(payment=payment, invoice=invoice, amount=D("90.00"), today=TODAY)
    assert exc.value.fields == {"amount": [f"Only €80.00 is open on invoice {invoice.number}."]}
    small = pay(account, "10.00")
    with pytest.raises(ValidationFailed) as exc:
        services.payment_allocate(payment=small, invoice=invoice, amount=D("20.00"), today=TODAY)
    assert exc.value.fields == {"amount": ["Only €10.00 of this payment is unapplied."]}
    assert Allocation.objects.count() == 0


def test_one_currency_per_allocation_and_one_account():
    account = AccountFactory()
    invoice = posted_invoice(account, ["80.00"], invoice_date=dt.date(2026, 2, 1))
    usd = pay(account, "80.00", currency="USD")
    with pytest.raises(ValidationFailed) as exc:
        services.payment_allocate(payment=usd, invoice=invoice, amount=D("80.00"), today=TODAY)
    assert exc.value.fields == {"invoice": ["The invoice is in EUR and this is in USD: one currency per allocation."]}
    other = pay(AccountFactory(), "80.00")
    with pytest.raises(ValidationFailed) as exc:
        services.payment_allocate(payment=other, invoice=invoice, amount=D("80.00"), today=TODAY)
    assert exc.value.fields == {"invoice": ["This invoice belongs to another account."]}


def test_draft_invoices_take_no_payment():
    account = AccountFactory()
    invoice = posted_invoice(account, ["80.00"], invoice_date=dt.date(2026, 2, 1))
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.CANCELLED, cancelled_at=None)
    invoice.refresh_from_db()
    with pytest.raises(InvalidTransition):
        services.payment_allocate(payment=pay(account, "10"), invoice=invoice, amount=D("10"), today=TODAY)


def test_auto_allocate_pays_oldest_due_first_and_keeps_the_rest_unapplied():
    account = AccountFactory()
    late = posted_invoice(account, ["30.00"], invoice_date=dt.date(2026, 1, 1), due_date=dt.date(2026, 1, 31))
    later = posted_invoice(account, ["50.00"], invoice_date=dt.date(2026, 2, 1), due_date=dt.date(2026, 3, 3))
    newest = posted_invoice(account, ["40.00"], invoice_date=dt.date(2026, 3, 1), due_date=dt.date(2026, 3, 31))
    payment = pay(account, "70.00", auto_allocate=True)
    assert [invoice_balance(i) for i in (late, later, newest)] == [D("0.00"), D("10.00"), D("40.00")]
    assert figures(payment) == (D("70.00"), D("0"), D("0.00"))
    big = pay(account, "100.00", auto_allocate=True)
    assert [invoice_balance(i) for i in (late, later, newest)] == [D("0.00"), D("0.00"), D("0.00")]
    assert figures(big) == (D("50.00"), D("0"), D("50.00"))
    assert list(Allocation.objects.filter(payment=big).values_list("invoice_id", "amount")) == [
        (later.pk, D("10.000000")), (newest.pk, D("40.000000"))
    ]


def test_unallocate_writes_a_negative_row_and_deletes_nothing():
    account = AccountFactory()
    invoice = posted_invoice(account, ["100.00"], invoice_date=dt.date(2026, 2, 1))
    payment = pay(account, "100.00", auto_allocate=True)
    services.payment_unallocate(payment=payment, invoice=invoice, amount=D("40.00"), today=TODAY)
    assert invoice_balance(invoice) == D("40.00")
    assert figures(payment) == (D("60.00"), D("0"), D("40.00"))
    services.payment_unallocate(payment=payment, invoice=invoice, today=TODAY)
    assert invoice_balance(invoice) == D("100.00")
    assert list(Allocation.objects.order_by("id").values_list("amount", flat=True)) == [D("100"), D("-40"), D("-60")]
    with pytest.raises(ValidationFailed) as exc:
        services.payment_unallocate(payment=payment, invoice=invoice, today=TODAY)
    assert exc.value.fields == {"invoice": [f"Nothing of Payment {payment.pk} is allocated to {invoice.number}."]}


def test_allocation_to_a_line_is_limited_by_the_line():
    account = AccountFactory()
    invoice = posted_invoice(account, ["60.00", "40.00"], invoice_date=dt.date(2026, 2, 1))
    line2 = invoice.lines.get(position=2)
    payment = pay(account, "100.00")
    with pytest.raises(ValidationFailed) as exc:
        services.payment_allocate(payment=payment, invoice=invoice, invoice_line=line2, amount=D("50.00"), today=TODAY)
    assert exc.value.fields == {"amount": ["Only €40.00 is open on this line."]}
    services.payment_allocate(payment=payment, invoice=invoice, invoice_line=line2, amount=D("40.00"), today=TODAY)
    assert (line_balance(invoice_line=line2), invoice_balance(invoice)) == (D("0.00"), D("60.00"))
    services.payment_unallocate(payment=payment, invoice=invoice, invoice_line=line2, amount=D("15.00"), today=TODAY)
    assert (line_balance(invoice_line=line2), invoice_balance(invoice)) == (D("15.00"), D("75.00"))


def test_credit_note_allocation_counts_towards_paid_and_can_be_refunded():
    account = AccountFactory()
    invoice = posted_invoice(account, ["100.00"], invoice_date=dt.date(2026, 2, 1))
    note = posted_credit_note(account, "30.00", credit_date=dt.date(2026, 2, 10))
    services.credit_note_allocate(credit_note=note, invoice=invoice, amount=D("20.00"), today=TODAY)
    assert (invoice_balance(invoice), invoice_payment_status(invoice)) == (D("80.00"), PaymentStatus.PARTIALLY_PAID)
    assert credit_note_balance(note) == D("10.00")
    with pytest.raises(ValidationFailed) as exc:
        services.credit_note_refund(credit_note=note, amount=D("10.01"), today=TODAY)
    assert exc.value.fields == {"amount": ["Only €10.00 of this credit note is available."]}
    services.credit_note_refund(credit_note=note, amount=D("10.00"), today=TODAY)
    assert credit_note_balance(note) == D("0.00")
    services.credit_note_unallocate(credit_note=note, invoice=invoice, today=TODAY)
    assert (invoice_balance(invoice), credit_note_balance(note)) == (D("100.00"), D("20.00"))


def test_refund_only_from_the_unapplied_amount():
    account = AccountFactory()
    invoice = posted_invoice(account, ["60.00"], invoice_date=dt.date(2026, 2, 1))
    payment = pay(account, "100.00", auto_allocate=True)
    with pytest.raises(ValidationFailed) as exc:
        services.payment_refund(payment=payment, amount=D("50.00"), today=TODAY)
    assert exc.value.fields == {"amount": ["Only €40.00 of this payment is unapplied: unallocate it first to refund more."]}
    services.payment_refund(payment=payment, amount=D("40.00"), today=TODAY, reason="Overpaid")
    assert figures(payment) == (D("60.00"), D("40.00"), D("0.00"))
    assert invoice_balance(invoice) == D("0.00")


def test_a_credit_note_on_a_paid_invoice_stays_open_credit():
    """Invoicing applies a posted credit note to its invoice only up to what payments left open."""
    account = AccountFactory()
    invoice = posted_invoice(account, ["100.00"], invoice_date=dt.date(2026, 2, 1))
    services.payment_allocate(payment=pay(account, "100.00"), invoice=invoice, amount=D("100.00"), today=TODAY)
    note = posted_credit_note(account, "10.00", credit_date=dt.date(2026, 2, 10), invoice=invoice)
    assert (invoice_balance(invoice), invoice_payment_status(invoice)) == (D("0.00"), PaymentStatus.PAID)
    assert credit_note_balance(note) == D("10.00")


def test_a_credit_note_on_a_partly_paid_invoice_is_applied_up_to_the_open_balance():
    account = AccountFactory()
    invoice = posted_invoice(account, ["100.00"], invoice_date=dt.date(2026, 2, 1))
    services.payment_allocate(payment=pay(account, "95.00"), invoice=invoice, amount=D("95.00"), today=TODAY)
    note = posted_credit_note(account, "10.00", credit_date=dt.date(2026, 2, 10), invoice=invoice)
    assert (invoice_balance(invoice), credit_note_balance(note)) == (D("0.00"), D("5.00"))


def test_posting_a_credit_note_applies_it_through_payments_allocation_rows():
    """One way to apply a credit note: posting one against its invoice writes a payments allocation."""
    account = AccountFactory()
    invoice = posted_invoice(account, ["120.00"], invoice_date=dt.date(2026, 2, 1))
    note = posted_credit_note(account, "20.00", credit_date=dt.date(2026, 2, 10), invoice=invoice)
    assert (invoice_balance(invoice), invoice_payment_status(invoice)) == (D("100.00"), PaymentStatus.PARTIALLY_PAID)
    assert credit_note_balance(note) == D("0.00")
    row = Allocation.objects.get(credit_note=note)
    assert (row.invoice_id, row.amount, row.allocated_date, row.payment_id) == (invoice.pk, D("20.00"), dt.date(2026, 2, 10), None)
    # Taken back like any allocation, the credit becomes open credit for another invoice.
    services.credit_note_unallocate(credit_note=note, invoice=invoice, today=TODAY)
    other = posted_invoice(account, ["50.00"], invoice_date=dt.date(2026, 2, 2))
    services.credit_note_allocate(credit_note=note, invoice=other, amount=D("20.00"), today=TODAY)
    assert (invoice_balance(invoice), invoice_balance(other), credit_note_balance(note)) == (D("120.00"), D("30.00"), D("0.00"))


def test_a_credit_note_spent_elsewhere_cannot_be_applied_again():
    account = AccountFactory()
    first = posted_invoice(account, ["100.00"], invoice_date=dt.date(2026, 2, 1))
    second = posted_invoice(account, ["50.00"], invoice_date=dt.date(2026, 2, 2))
    note = posted_credit_note(account, "30.00", credit_date=dt.date(2026, 2, 10))
    services.credit_note_allocate(credit_note=note, invoice=first, amount=D("30.00"), today=TODAY)
    with pytest.raises(ValidationFailed) as exc:
        services.credit_note_allocate(credit_note=note, invoice=second, amount=D("1.00"), today=TODAY)
    assert exc.value.fields == {"amount": ["Only €0.00 of this credit note is available."]}
    services.payment_allocate(payment=pay(account, "45.00"), invoice=second, amount=D("45.00"), today=TODAY)
    other = posted_credit_note(account, "20.00", credit_date=dt.date(2026, 2, 11))
    with pytest.raises(ValidationFailed) as exc:
        services.credit_note_allocate(credit_note=other, invoice=second, amount=D("6.00"), today=TODAY)
    assert exc.value.fields == {"amount": [f"Only €5.00 is open on invoice {second.number}."]}
    assert (invoice_balance(first), invoice_balance(second), credit_note_balance(other)) == (D("70.00"), D("5.00"), D("20.00"))


def test_an_invoice_settled_to_the_cent_is_paid_whatever_the_database_arithmetic():
    # SQLite subtracts these in floating point and leaves 1.1e-13: the balance must still be 0 and "paid".
    account = AccountFactory()
    invoice = posted_invoice(account, ["3602.33"], invoice_date=dt.date(2026, 2, 1))
    note = posted_credit_note(account, "1003.36", credit_date=dt.date(2026, 2, 10))
    services.credit_note_allocate(credit_note=note, invoice=invoice, amount=D("1003.36"), today=TODAY)
    services.payment_allocate(payment=pay(account, "2598.97"), invoice=invoice, amount=D("2598.97"), today=TODAY)
    assert (invoice_balance(invoice), invoice_payment_status(invoice)) == (D("0.00"), PaymentStatus.PAID)
    assert list(open_invoices(account=account)) == []
