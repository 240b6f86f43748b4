import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, transaction

from billing_site.errors import ValidationFailed
from payments import services
from payments.gateway import IdempotencyMismatch
from payments.gateway.sandbox import SandboxGateway
from payments.models import GatewayOperation, Payment, PaymentAttempt, PaymentMethod, PaymentRun
from payments.selectors import credit_note_balance, invoice_balance
from payments.tests.factories import AccountFactory, posted_credit_note, posted_invoice

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 4, 1)


@pytest.mark.parametrize(
    ("token", "approved", "transient", "code"),
    [
        ("tok_visa", True, False, ""),
        ("tok_mastercard", True, False, ""),
        ("tok_insufficient_funds", False, True, "insufficient_funds"),
        ("tok_try_again", False, True, "try_again_later"),
        ("tok_declined", False, False, "card_declined"),
        ("tok_expired", False, False, "expired_card"),
        ("tok_unknown", False, False, "invalid_token"),
    ],
)
def test_sandbox_decides_by_token(token, approved, transient, code):
    result = SandboxGateway().charge(token=token, amount=D("10.00"), currency="EUR", idempotency_key=f"k-{token}")
    assert (result.approved, result.transient, result.code) == (approved, transient, code)


def test_sandbox_same_key_same_result_and_other_params_refused():
    gw = SandboxGateway()
    first = gw.charge(token="tok_visa", amount=D("10.00"), currency="EUR", idempotency_key="k1")
    again = SandboxGateway().charge(token="tok_visa", amount=D("10.00"), currency="EUR", idempotency_key="k1")
    assert first == again and first.transaction_id.startswith("sbx_")
    assert GatewayOperation.objects.count() == 1
    with pytest.raises(IdempotencyMismatch):
        gw.charge(token="tok_visa", amount=D("11.00"), currency="EUR", idempotency_key="k1")


def test_sandbox_refunds_and_captures_no_more_than_was_taken():
    gw = SandboxGateway()
    charge = gw.charge(token="tok_visa", amount=D("10.00"), currency="EUR", idempotency_key="c")
    assert gw.refund(transaction_id=charge.transaction_id, amount=D("6.00"), currency="EUR", idempotency_key="r1").approved
    too_much = gw.refund(transaction_id=charge.transaction_id, amount=D("4.01"), currency="EUR", idempotency_key="r2")
    assert (too_much.approved, too_much.code) == (False, "amount_too_large")
    auth = gw.authorize(token="tok_visa", amount=D("50.00"), currency="EUR", idempotency_key="a")
    assert gw.capture(authorization_id=auth.transaction_id, amount=D("50.00"), currency="EUR", idempotency_key="cap").approved
    assert not gw.capture(authorization_id=auth.transaction_id, amount=D("1.00"), currency="EUR", idempotency_key="cap2").approved


def test_payment_methods_store_tokens_only_and_one_autopay_per_account():
    account = AccountFactory()
    with pytest.raises(ValidationFailed) as exc:
        services.payment_method_add(account=account, token="4242 4242 4242 4242")
    assert exc.value.fields == {"token": ["This looks like a card number: store the gateway token, never the card number."]}
    first = services.payment_method_add(account=account, token="tok_visa", last4="4242", is_autopay=True)
    second = services.payment_method_add(account=account, token="tok_mastercard", last4="4444", is_autopay=True)
    first.refresh_from_db()
    assert (first.is_autopay, second.is_autopay, second.brand) == (False, True, "Mastercard")
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentMethod.objects.filter(pk=first.pk).update(is_autopay=True)


def _autopay_invoice(token="tok_visa", total="120.00"):
    account = AccountFactory()
    services.payment_method_add(account=account, token=token, is_autopay=True)
    invoice = posted_invoice(account, [total], invoice_date=DAY - dt.timedelta(days=30), due_date=DAY)
    return account, invoice


def test_run_charges_due_invoices_of_autopay_accounts_once():
    account, invoice = _autopay_invoice()
    not_due = posted_invoice(account, ["50.00"], invoice_date=DAY, due_date=DAY + dt.timedelta(days=30))
    manual = posted_invoice(AccountFactory(), ["70.00"], invoice_date=DAY - dt.timedelta(days=40), due_date=DAY)
    run = services.payment_run_execute(run=services.payment_run_start(today=DAY), today=DAY)
    assert (run.attempts_count, run.succeeded_count, run.declined_count, run.collected) == (1, 1, 0, {"EUR": "120.00"})
    attempt = PaymentAttempt.objects.get()
    assert (attempt.invoice, attempt.idempotency_key, attempt.status) == (invoice, f"inv-{invoice.pk}-attempt-1", "succeeded")
    payment = attempt.payment
    assert (payment.source, payment.method, payment.amount, payment.unapplied_amount) == ("gateway", "card", D("120.00"), D("0.00"))
    assert [invoice_balance(i) for i in (invoice, not_due, manual)] == [D("0.00"), D("50.00"), D("70.00")]
    # Running again (a retried task, a second run the same day) charges nothing more.
    again = services.payment_run_execute(run=services.payment_run_start(today=DAY), today=DAY)
    assert again.attempts_count == 0
    assert (PaymentAttempt.objects.count(), Payment.objects.count(), GatewayOperation.objects.count()) == (1, 1, 1)


def test_a_pending_attempt_left_by_a_crash_is_finished_with_the_same_key():
    _account, invoice = _autopay_invoice()
    attempt = services.attempt_claim(run=None, invoice_id=invoice.pk, today=DAY)
    # The worker charged at the gateway, then died before recording the result.
    SandboxGateway().charge(token="tok_visa", amount=D("120.00"), currency="EUR", idempotency_key=attempt.idempotency_key)
    assert services.attempt_claim(run=None, invoice_id=invoice.pk, today=DAY) is None
    services.payment_run_execute(run=services.payment_run_start(today=DAY), today=DAY)
    attempt.refresh_from_db()
    assert attempt.status == PaymentAttempt.Status.SUCCEEDED
    assert (GatewayOperation.objects.count(), Payment.objects.count(), invoice_balance(invoice)) == (1, 1, D("0.00"))


def test_the_database_refuses_a_second_successful_charge():
    _account, invoice = _autopay_invoice()
    services.invoice_charge_now(invoice=invoice, today=DAY)
    first = PaymentAttempt.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentAttempt.objects.create(
            account=first.account, invoice=invoice, payment_method=first.payment_method, attempt_no=2, amount=D("1"),
            currency="EUR", idempotency_key="other", attempted_on=DAY, status=PaymentAttempt.Status.SUCCEEDED,
        )


def test_transient_declines_retry_after_3_5_and_7_days_then_stop():
    account, invoice = _autopay_invoice(token="tok_insufficient_funds")
    expected = [(DAY, DAY + dt.timedelta(days=3)), (DAY + dt.timedelta(days=3), DAY + dt.timedelta(days=5)),
                (DAY + dt.timedelta(days=5), DAY + dt.timedelta(days=7)), (DAY + dt.timedelta(days=7), None)]
    for day in (DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=3), DAY + dt.timedelta(days=5),
                DAY + dt.timedelta(days=7), DAY + dt.timedelta(days=8)):
        services.payment_run_execute(run=services.payment_run_start(today=day), today=day)
    rows = list(PaymentAttempt.objects.order_by("attempt_no").values_list("attempted_on", "next_retry_on", "status", "decline_code"))
    assert rows == [(a, n, "declined_transient", "insufficient_funds") for a, n in expected]
    assert invoice_balance(invoice) == D("120.00")
    # The customer gives a new card: the next run charges it.
    services.payment_method_add(account=account, token="tok_visa", is_autopay=True)
    services.payment_run_execute(run=services.payment_run_start(today=DAY + dt.timedelta(days=9)), today=DAY + dt.timedelta(days=9))
    assert PaymentAttempt.objects.order_by("-attempt_no").values_list("attempt_no", "status").first() == (5, "succeeded")
    assert invoice_balance(invoice) == D("0.00")


def test_final_decline_is_not_retried():
    _account, invoice = _autopay_invoice(token="tok_expired")
    for day in (DAY, DAY + dt.timedelta(days=3), DAY + dt.timedelta(days=10)):
        services.payment_run_execute(run=services.payment_run_start(today=day), today=day)
    assert list(PaymentAttempt.objects.values_list("status", "decline_code", "next_retry_on")) == [("declined_final", "expired_card", None)]


def test_scheduled_run_of_a_day_is_one_row():
    first = services.payment_run_start(today=DAY, trigger=PaymentRun.Trigger.SCHEDULED)
    again = services.payment_run_start(today=DAY, trigger=PaymentRun.Trigger.SCHEDULED)
    assert first.pk == again.pk


def test_published_refund_chain_with_every_balance():
    """Issue 7 item 7: 100 paid by the gateway → credit 10 → unallocate → credit → 90 → refund 10."""
    account, invoice = _autopay_invoice(total="100.00")
    attempt = services.invoice_charge_now(invoice=invoice, today=DAY)
    payment = attempt.payment
    assert (invoice_balance(invoice), _unapplied(payment)) == (D("0.00"), D("0.00"))
    note = posted_credit_note(account, "10.00", credit_date=DAY + dt.timedelta(days=2), invoice=invoice)
    assert (invoice_balance(invoice), credit_note_balance(note)) == (D("0.00"), D("10.00"))
    services.payment_unallocate(payment=payment, invoice=invoice, today=DAY + dt.timedelta(days=3))
    assert (invoice_balance(invoice), _unapplied(payment)) == (D("100.00"), D("100.00"))
    services.credit_note_allocate(credit_note=note, invoice=invoice, amount=D("10.00"), today=DAY + dt.timedelta(days=3))
    assert (invoice_balance(invoice), credit_note_balance(note)) == (D("90.00"), D("0.00"))
    services.payment_allocate(payment=payment, invoice=invoice, amount=D("90.00"), today=DAY + dt.timedelta(days=3))
    assert (invoice_balance(invoice), _unapplied(payment)) == (D("0.00"), D("10.00"))
    refund = services.payment_refund(payment=payment, amount=D("10.00"), today=DAY + dt.timedelta(days=3))
    assert (invoice_balance(invoice), _unapplied(payment)) == (D("0.00"), D("0.00"))
    assert refund.gateway_transaction_id.startswith("sbx_")
    op = GatewayOperation.objects.get(operation="refund")
    assert (op.idempotency_key, op.request["amount"], op.result["approved"]) == (f"refund-{refund.pk}", "10.00", True)


def _unapplied(payment):
    payment.refresh_from_db()
    return payment.unapplied_amount
