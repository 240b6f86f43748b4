"""What the user typed is what they meant: run filters by account number, shown in words; the
preview's net total is net; a finished run's progress drops the Cancel button; French numbers and
dates in forms."""

import datetime as dt
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from billing_site.models import UserProfile
from invoicing import services
from invoicing.forms import PreviewForm
from invoicing.models import InvoiceRun
from invoicing.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_the_preview_net_total_is_net_and_the_total_with_tax_is_shown(finance_client, contract):
    page = finance_client.get(reverse("invoicing:preview"), {"target_date": "2025-02-20"}).content.decode()
    # Two months of 2 seats at 120.00: 480.00 net, 576.00 with 20 % VAT.
    assert '<span data-figure="net">€480.00</span>' in page
    assert '<span data-figure="gross">€576.00</span>' in page


def test_run_filters_take_account_numbers_and_name_unknown_ones(finance_client, contract, account):
    response = finance_client.post(reverse("invoicing:run-create"), {
        "target_date": "2025-01-31", "accounts": f"{account.number.lower()}, ACC-99999"})
    assert response.context["form"].errors == {"accounts": ["No account numbered ACC-99999."]}
    assert InvoiceRun.objects.count() == 0
    other = AccountFactory(name="Atelier Bleu")
    response = finance_client.post(reverse("invoicing:run-create"), {
        "target_date": "2025-01-31", "accounts": f"{account.number}; {other.number}"})
    run = InvoiceRun.objects.get()
    assert run.filters == {"account_ids": sorted([account.pk, other.pk])}
    page = finance_client.get(reverse("invoicing:run-detail", args=[run.pk])).content.decode()
    assert (f'<dd data-testid="run-filters"><span class="pill">Accounts: {account.number} Maison Verte, '
            f"{other.number} Atelier Bleu</span>") in page
    assert "account_ids" not in page


def test_the_progress_of_a_finished_run_swaps_the_cancel_button_away(finance_client, contract):
    run = services.invoice_run_create(actor=None, target_date=date(2025, 1, 15), start=False)
    page = finance_client.get(reverse("invoicing:run-detail", args=[run.pk])).content.decode()
    assert "Cancel run" in page
    run = services.invoice_run_execute(run=run)
    progress = finance_client.get(reverse("invoicing:run-progress", args=[run.pk])).content.decode()
    assert '<span id="run-actions" class="inline" hx-swap-oob="true">' in progress
    assert '<dl class="facts" id="run-times" hx-swap-oob="true">' in progress
    assert "Cancel run" not in progress and "hx-trigger" not in progress
    assert '<div class="value" id="run-invoices">1</div>' in progress


def test_french_forms_read_decimal_commas_and_iso_dates():
    with translation.override("fr"):
        form = PreviewForm({"target_date": "2025-01-31", "billing_days": "1"})
        assert form.is_valid(), form.errors
        from payments.forms import RefundForm

        refund = RefundForm({"amount": "12,5", "reason": "Geste commercial"})
        assert refund.is_valid() and refund.cleaned_data["amount"] == Decimal("12.5")
        assert 'value="12,5"' in str(refund["amount"]) and 'inputmode="decimal"' in str(refund["amount"])
        unbound = PreviewForm(initial={"target_date": dt.date(2026, 11, 30)})
        assert 'value="2026-11-30"' in str(unbound["target_date"])


@pytest.fixture
def _restore_language():
    # The language middleware activates the user's language in this thread: restore it afterwards.
    with translation.override("en"):
        yield


def test_a_french_user_records_a_payment_of_12_5_received_on_a_french_date(finance_client, finance_user, _restore_language):
    from payments.models import Payment

    UserProfile.objects.update_or_create(user=finance_user, defaults={"language": "fr"})
    account = AccountFactory(currency="EUR")
    page = finance_client.get(reverse("payments:create") + f"?account={account.pk}").content.decode()
    assert 'type="date" name="received_date" value="' in page and 'value=""' not in page.split('name="received_date"')[1][:40]
    response = finance_client.post(reverse("payments:create"), {
        "account": account.pk, "amount": "12,5", "received_date": "2025-01-02", "method": "check"})
    assert response.status_code == 302, response.context["form"].errors
    assert list(Payment.objects.values_list("amount", "currency", "received_date")) == [
        (Decimal("12.50"), "EUR", date(2025, 1, 2))]
    detail = finance_client.get(response["Location"]).content.decode()
    assert "02/01/2025" in detail and "12,50\xa0€" in detail
