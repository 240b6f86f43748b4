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
    # Other accounts' invoices, for a list that shows every badge.
    from decimal import Decimal

    from payments import services as payment_services

    other = AccountFactory(name="Atelier Dufresne")
    posted_invoice(other, ["480.00"], invoice_date=today - dt.timedelta(days=45), due_date=today - dt.timedelta(days=15))
    part = posted_invoice(other, ["1200.00"], invoice_date=today - dt.timedelta(days=2), due_date=today + dt.timedelta(days=28))
    payment = payment_services.payment_record(account=other, amount=Decimal("400.00"), currency="EUR", received_date=today,
                                              method="check", today=today)
    payment_services.payment_allocate(payment=payment, invoice=part, amount="400.00", today=today)
    posted_invoice(AccountFactory(name="Maison Verte"), ["99.90"], invoice_date=today, due_date=today + dt.timedelta(days=30))
    page.goto(page.base_url + "/invoicing/?sort=-date")
    keep(shot(page, "finance-desk-invoice-list"), "invoice-list.png")


def test_posting_asks_first_and_names_the_number(page):
    from invoicing.models import Invoice
    from invoicing.selectors import next_numbers

    make_user("b-post", Role.FINANCE)
    account = AccountFactory(name="Maison Verte")
    draft = posted_invoice(account, ["120.00"], invoice_date=clock.today())
    # A second invoice as a draft: the same lines, not posted.
    invoice = Invoice.objects.create(account=account, legal_entity=draft.legal_entity, currency="EUR", payment_terms_days=30)
    invoice.lines.create(position=1, source="one_time", description="Set-up", quantity=1, unit_price=100,
                         net_amount=100, total_amount=100)
    login(page, "b-post", "pw-b-post")
    page.goto(page.base_url + f"/invoicing/{invoice.pk}/")
    page.click("#post-invoice")
    [next_number] = next_numbers(legal_entity_id=draft.legal_entity_id, document_type="invoice")
    assert next_number != draft.number
    assert f"It takes number {next_number} of" in page.text_content("#confirm")
    shot(page, "finance-desk-post-confirm")
    page.click("#confirm-back")
    page.wait_for_selector("#post-invoice")
    assert Invoice.objects.get(pk=invoice.pk).status == "draft"
    page.click("#post-invoice")
    page.click("#confirm-button")
    page.wait_for_selector(".messages")
    assert f"Invoice {next_number} posted." in page.text_content(".messages")


def test_posting_all_drafts_of_a_run_shows_live_progress(page, celery_eager):
    from invoicing import services as invoicing_services
    from invoicing.models import Invoice
    from invoicing.tests.factories import AccountFactory as BillingAccountFactory
    from invoicing.tests.factories import activate, make_catalog

    catalog = make_catalog()
    product = catalog.product("saas-seat", price="1440.00", frequency=1)
    for name in ("Maison Verte", "Atelier Dufresne", "Librairie Papillon"):
        activate(catalog=catalog, products=[(product, "2")], account=BillingAccountFactory(name=name), start=dt.date(2025, 1, 15))
    run = invoicing_services.invoice_run_execute(run=invoicing_services.invoice_run_create(
        actor=None, target_date=dt.date(2025, 1, 15), auto_post=False, start=False))
    assert Invoice.objects.filter(run=run, status="draft").count() == 3
    make_user("b-bulk", Role.FINANCE)
    login(page, "b-bulk", "pw-b-bulk")
    page.goto(page.base_url + f"/invoicing/runs/{run.pk}/")
    page.click("#post-all-drafts")
    assert "3 drafts of Recur SAS take numbers F000001 to F000003 forever." in page.text_content("#confirm")
    page.click("#confirm-button")
    page.wait_for_selector("#bulk-progress")
    page.wait_for_function("document.querySelector('#bulk-percent').textContent.trim() === '100 %'")
    assert page.text_content("#bulk-succeeded").strip() == "3"
    assert page.text_content("#bulk-failed").strip() == "0"
    shot(page, "finance-desk-bulk-post")
    assert sorted(Invoice.objects.filter(run=run).values_list("number", flat=True)) == ["F000001", "F000002", "F000003"]
