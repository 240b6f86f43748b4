"""The finance desk in a real browser: paid or not at a glance, bulk posting, confirmations."""

import datetime as dt
import shutil
from pathlib import Path

import pytest

from billing_site import clock
from billing_site.roles import Role
from conftest import make_user
from payments.tests.factories import AccountFactory, posted_invoice
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def keep(path: Path, name: str) -> None:
    """Copy a screenshot into docs/screenshots/ (linked from the README)."""
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, DOCS / name)


def record_payment(page, account, amount: str) -> None:
    page.goto(page.base_url + "/payments/new/")
    page.select_option("#id_account", str(account.pk))
    page.fill("#id_amount", amount)
    page.select_option("#id_method", "bank_transfer")
    page.click("button:has-text('Record payment')")
    page.wait_for_selector("#payment-figures")


def badge_in_list(page, number: str) -> str:
    page.goto(page.base_url + f"/invoicing/?q={number}")
    return page.locator("#invoice-table tbody tr").first.locator(".pay-status").text_content().strip()


def test_an_invoice_goes_from_unpaid_to_partially_paid_to_paid_in_the_list(page):
    make_user("b-desk", Role.FINANCE)
    today = clock.today()
    account = AccountFactory(name="Boulangeries Martin")
    invoice = posted_invoice(account, ["300.00"], invoice_date=today - dt.timedelta(days=5), due_date=today + dt.timedelta(days=25))
    login(page, "b-desk", "pw-b-desk")
    assert badge_in_list(page, invoice.number) == "Unpaid"
    record_payment(page, account, "100.00")
    assert badge_in_list(page, invoice.number) == "Partially paid"
    row = page.locator("#invoice-table tbody tr").first
    assert row.locator("td.num").nth(1).text_content().strip() == "€200.00"
    # The list's payment filter: open invoices include it, paid ones do not yet.
    page.goto(page.base_url + "/invoicing/?payment=open")
    assert page.locator("#invoice-table", has_text=invoice.number).count() == 1
    page.goto(page.base_url + "/invoicing/?payment=paid")
    assert page.locator("#invoice-table", has_text=invoice.number).count() == 0
    page.goto(page.base_url + f"/invoicing/{invoice.pk}/")
    assert page.text_content("#invoice-balance").strip() == "€200.00"
    assert page.text_content("#invoice-pay-status .pay-status").strip() == "Partially paid"
    keep(shot(page, "finance-desk-invoice-partially-paid"), "invoice-page.png")
    # From the invoice to its payments, and back.
    page.click("#invoice-payments-link")
    page.click("#invoice-link")
    page.wait_for_selector("#invoice-balance")
    record_payment(page, account, "200.00")
    assert badge_in_list(page, invoice.number) == "Paid"
    page.goto(page.base_url + "/invoicing/?payment=paid")
    assert page.locator("#invoice-table", has_text=invoice.number).count() == 1
    page.goto(page.base_url + "/invoicing/")
    keep(shot(page, "finance-desk-invoice-list"), "invoice-list.png")
