"""The credit picture sales reps see before quoting, against real invoices, payments and credits."""

import datetime as dt
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
import time_machine
from django.urls import reverse

from payments import services
from payments.selectors import credit_summary
from payments.tests.factories import AccountFactory, posted_credit_note, posted_invoice

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 30)


@pytest.fixture
def account(db):
    account = AccountFactory(credit_limit_amount=D("10000.00"))
    a = posted_invoice(account, ["1000.00"], invoice_date=dt.date(2026, 2, 1), due_date=dt.date(2026, 3, 3))
    b = posted_invoice(account, ["500.00"], invoice_date=dt.date(2026, 4, 15), due_date=dt.date(2026, 5, 15))
    posted_invoice(account, ["300.00"], invoice_date=dt.date(2026, 5, 20), due_date=dt.date(2026, 6, 19))
    posted_invoice(account, ["200.00"], invoice_date=dt.date(2026, 6, 15), due_date=dt.date(2026, 7, 15))
    e = posted_invoice(account, ["250.00"], invoice_date=dt.date(2026, 6, 1), due_date=dt.date(2026, 7, 1))
    posted_invoice(account, ["999.00"], invoice_date=dt.date(2026, 6, 1), currency="USD")
    paid = services.payment_record(account=account, amount=D("600.00"), currency="EUR", received_date=dt.date(2026, 4, 1),
                                   method="bank_transfer", today=TODAY)
    services.payment_allocate(payment=paid, invoice=a, amount=D("400.00"), today=TODAY)
    services.payment_record(account=account, amount=D("250.00"), currency="EUR", received_date=dt.date(2026, 6, 20),
                            method="card", today=TODAY)
    services.payment_allocate(payment=account.payments.get(amount=D("250.00")), invoice=e, amount=D("250.00"), today=TODAY)
    note = posted_credit_note(account, "150.00", credit_date=dt.date(2026, 5, 1))
    services.credit_note_allocate(credit_note=note, invoice=b, amount=D("100.00"), today=TODAY)
    return account


def test_every_figure_is_exact(account):
    c = credit_summary(account=account, today=TODAY)
    assert (c.currency, c.open_balance, c.overdue_amount, c.oldest_overdue_days) == ("EUR", D("1500.00"), D("1300.00"), 119)
    assert c.aging == {"current": D("200.00"), "d1_30": D("300.00"), "d31_60": D("400.00"), "d61_90": D("0.00"),
                       "d90_plus": D("600.00")}
    assert (c.credit_sales_90, c.dso_90) == (D("1250.00"), D("108.0"))
    assert (c.credit_limit, c.quote_amount, c.remaining_after_quote, c.over_limit) == (D("10000.00"), D("0.00"), D("8500.00"), False)
    assert (c.unapplied_credits, c.credit_hold) == (D("250.00"), False)
    assert [(w.level, w.code, w.message) for w in c.warnings] == [
        ("bad", "overdue", "€1,300.00 is overdue; the oldest unpaid invoice is 119 days late.")]


def test_remaining_after_a_quote_and_credit_hold(account):
    quote = SimpleNamespace(is_open=True, total_contract_value=D("8000.00"), tax_estimate=D("1600.00"))
    account.credit_hold = True
    account.save()
    c = credit_summary(account=account, today=TODAY, quote=quote)
    assert (c.quote_amount, c.exposure, c.remaining_after_quote, c.over_limit) == (D("9600.00"), D("11100.00"), D("-1100.00"), True)
    assert [(w.level, w.code) for w in c.warnings] == [("bad", "credit_hold"), ("bad", "overdue"), ("warn", "over_limit")]
    assert c.warnings[2].message == "Over the credit limit of €10,000.00 by €1,100.00."


def test_a_new_account_is_all_zero():
    c = credit_summary(account=AccountFactory(credit_limit_amount=D("0")), today=TODAY)
    assert (c.open_balance, c.overdue_amount, c.oldest_overdue_days, c.dso_90, c.credit_limit, c.remaining_after_quote) == (
        D("0.00"), D("0.00"), None, None, None, None)
    assert c.tone == "ok"


def test_the_account_page_panel_shows_the_figures(account, sales_client):
    with time_machine.travel(dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC), tick=False):
        response = sales_client.get(reverse("customers:detail", args=[account.pk]))
    html = response.content.decode()
    assert 'data-figure="open_balance">€1,500.00<' in html
    assert 'data-figure="overdue_amount">€1,300.00<' in html
    assert 'data-figure="dso_90">108.0 days<' in html
    assert 'data-aging="d90_plus">€600.00<' in html
    assert 'data-figure="unapplied_credits">€250.00<' in html
