"""Six months of an AR clerk's work on three accounts; for every account, money in equals money
allocated plus unapplied plus refunded, and every invoice balance is what the rows say."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db.models import Sum

from payments import services
from payments.models import Allocation, Payment, Refund
from payments.selectors import credit_note_balance, credit_summary, invoice_balance
from payments.tests.factories import AccountFactory, posted_credit_note, posted_invoice

pytestmark = pytest.mark.django_db


def _sum(qs, field="amount"):
    return qs.aggregate(s=Sum(field))["s"] or D("0")


def test_money_in_equals_allocated_plus_unapplied_plus_refunded():
    card = AccountFactory(name="Card customer")
    services.payment_method_add(account=card, token="tok_visa", is_autopay=True)
    wire = AccountFactory(name="Boulangeries Martin", legal_name="Boulangeries Martin SAS")
    flaky = AccountFactory(name="Flaky")
    services.payment_method_add(account=flaky, token="tok_insufficient_funds", is_autopay=True)
    invoices = {a.pk: [] for a in (card, wire, flaky)}
    for month in range(1, 7):
        day = dt.date(2026, month, 1)
        for account, amount in ((card, "99.90"), (wire, "1200.00"), (flaky, "45.50")):
            invoices[account.pk].append(posted_invoice(account, [amount, "10.00"], invoice_date=day, due_date=day + dt.timedelta(days=30)))
        run_day = day + dt.timedelta(days=30)
        services.payment_run_execute(run=services.payment_run_start(today=run_day), today=run_day)
        # The wire customer pays by transfer every month, a bit late, sometimes too much.
        content = f"date,amount,currency,reference,counterparty\n{run_day + dt.timedelta(days=5)},{'1250.00' if month % 2 else '1210.00'},EUR,{invoices[wire.pk][-1].number},BOULANGERIES MARTIN SAS\n"
        services.statement_import(file_name=f"m{month}.csv", content=content.encode(), today=run_day + dt.timedelta(days=6))
    today = dt.date(2026, 7, 15)
    # The flaky customer pays two invoices by check, one over two of them; the clerk fixes a mistake.
    check = services.payment_record(account=flaky, amount=D("111.00"), currency="EUR", received_date=today,
                                    method="check", today=today, auto_allocate=True)
    services.payment_unallocate(payment=check, invoice=invoices[flaky.pk][0], amount=D("5.50"), today=today)
    services.payment_refund(payment=check, amount=D("5.50"), today=today, reason="Paid twice")
    # A credit note for the card customer (all paid by card): partly refunded.
    note = posted_credit_note(card, "30.00", credit_date=today)
    services.credit_note_refund(credit_note=note, amount=D("20.00"), today=today)
    # The wire customer's overpayments are refunded in part.
    overpaid = Payment.objects.filter(account=wire, unapplied_amount__gt=0).order_by("id").first()
    services.payment_refund(payment=overpaid, amount=D("15.00"), today=today)

    for account in (card, wire, flaky):
        payments = Payment.objects.filter(account=account)
        money_in = _sum(payments)
        allocated = _sum(Allocation.objects.filter(payment__account=account))
        unapplied = _sum(payments, "unapplied_amount")
        refunded = _sum(Refund.objects.filter(payment__account=account))
        assert money_in == allocated + unapplied + refunded, account.name
        for invoice in invoices[account.pk]:
            rows = Allocation.objects.filter(invoice=invoice)
            assert invoice_balance(invoice) == invoice.total_amount - _sum(rows) >= 0
        summary = credit_summary(account=account, today=today)
        assert summary.open_balance == sum((invoice_balance(i) for i in invoices[account.pk]), D("0"))

    assert [invoice_balance(i) for i in invoices[card.pk]] == [D("0.00")] * 6
    assert _sum(Payment.objects.filter(account=card)) == D("659.40")
    assert [invoice_balance(i) for i in invoices[wire.pk]] == [D("0.00")] * 6
    wire_payments = Payment.objects.filter(account=wire)
    assert (_sum(wire_payments), _sum(wire_payments, "unapplied_amount")) == (D("7380.00"), D("105.00"))
    assert [invoice_balance(i) for i in invoices[flaky.pk]] == [D("5.50"), D("0.00"), D("55.50"), D("55.50"), D("55.50"), D("55.50")]
    assert credit_note_balance(note) == D("10.00")
