"""Money cannot get stranded: a payment takes its account's currency unless another one is confirmed,
and the account shows unapplied money in every currency."""

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from payments import services
from payments.models import Payment
from payments.selectors.credit import unapplied_by_currency
from payments.tests.factories import AccountFactory, posted_credit_note

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC)
TODAY = dt.date(2026, 6, 30)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _post(client, account, **extra):
    data = {"account": account.pk, "amount": "100.00", "received_date": "2026-06-29", "method": "bank_transfer", **extra}
    return client.post(reverse("payments:create"), data)


def test_an_empty_currency_is_the_accounts(finance_client):
    account = AccountFactory(currency="USD")
    response = _post(finance_client, account, currency="")
    assert response.status_code == 302
    assert list(Payment.objects.values_list("currency", "amount")) == [("USD", D("100.00"))]


def test_another_currency_is_refused_unless_confirmed(finance_client):
    account = AccountFactory(currency="USD")
    response = _post(finance_client, account, currency="EUR")
    assert response.status_code == 200
    assert response.context["form"].errors == {"currency": [
        f"{account.number} is billed in USD: a payment in EUR cannot pay its invoices. "
        "Choose USD, or tick “Record it in a currency other than the account's”."
    ]}
    assert Payment.objects.count() == 0
    assert _post(finance_client, account, currency="EUR", other_currency="on").status_code == 302
    assert list(Payment.objects.values_list("currency", "amount")) == [("EUR", D("100.00"))]


def test_the_form_knows_each_accounts_currency(finance_client):
    account = AccountFactory(currency="USD")
    response = finance_client.get(reverse("payments:create") + f"?account={account.pk}")
    html = response.content.decode()
    assert f'"{account.pk}": "USD"' in html
    assert '<option value="USD" selected>USD</option>' in html
    assert 'src="/static/payments/payment_form.js"' in html


def test_unapplied_money_is_shown_in_every_currency(finance_client):
    account = AccountFactory(currency="EUR")
    for amount, currency in [("100.00", "USD"), ("25.50", "EUR"), ("4.50", "EUR")]:
        services.payment_record(account=account, amount=D(amount), currency=currency, received_date=TODAY,
                                method="check", today=TODAY)
    posted_credit_note(account, "10.00", credit_date=TODAY)
    assert unapplied_by_currency(account=account) == [
        {"currency": "EUR", "payments": D("30.00"), "credit_notes": D("10.00"), "total": D("40.00")},
        {"currency": "USD", "payments": D("100.00"), "credit_notes": D("0"), "total": D("100.00")},
    ]
    html = finance_client.get(reverse("customers:detail", args=[account.pk]) + "?tab=payments").content.decode()
    assert 'data-figure="unapplied_credits">€40.00<' in html
    assert '<div class="small bad" data-unapplied-other="USD">+ $100.00 in another currency</div>' in html
    assert '<tr data-currency="USD"><td>USD <span class="pill pill-warn">not the account\'s currency</span></td>' in html
