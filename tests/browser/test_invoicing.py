"""Finance starts an invoice run, follows its progress, opens the invoice and posts it."""

from datetime import date

import pytest
from playwright.sync_api import expect

from billing_site.roles import Role
from conftest import make_user
from invoicing.models import Invoice
from invoicing.tests.factories import AccountFactory, activate, make_catalog
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_run_drafts_then_post_an_invoice(page, celery_eager):
    # celery_eager: the run's tasks execute in the web process, as a worker would run them.
    catalog = make_catalog()
    product = catalog.product("saas-seat", price="1440.00", frequency=1)
    account = AccountFactory(name="Maison Verte")
    activate(catalog=catalog, products=[(product, "2")], account=account, start=date(2025, 1, 15))
    make_user("b-inv", Role.FINANCE)
    login(page, "b-inv", "pw-b-inv")
    page.click("nav.stages >> text=Invoices")
    page.click("text=New invoice run")
    page.fill("#id_target_date", "2025-02-20")
    page.fill("#id_invoice_date", "2025-02-21")
    page.uncheck("#id_send_documents")
    page.click("#start-run")
    page.wait_for_selector("#run-progress")
    expect(page.locator("#run-percent")).to_have_text("100 %")  # not wait_for_function: the CSP refuses eval
    assert page.text_content("#run-invoices").strip() == "1"
    assert page.text_content("#run-failed").strip() == "0"
    shot(page, "invoicing-run-detail")
    page.click("text=Its invoices")
    page.click("#invoice-table >> text=Draft invoice")
    assert page.text_content("#invoice-total").strip() == "€576.00"
    page.click("#post-invoice")
    # Posting asks first, naming the number the invoice will take.
    assert "It takes number F000001 of" in page.text_content("#confirm")
    page.click("#confirm-button")
    page.wait_for_selector(".messages")
    assert "Invoice F000001 posted." in page.text_content(".messages")
    assert Invoice.objects.get().status == "posted"
    shot(page, "invoicing-invoice-detail")
