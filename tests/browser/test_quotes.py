"""A sales rep quotes an overdue account, finance approves the discount, the rep presents and closes it."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing_site import clock
from billing_site.roles import Role
from conftest import make_user
from customers.tests.factories import AccountFactory
from quotes.models import Quote
from quotes.tests.factories import catalog
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _eager_worker(celery_eager):
    """The live server renders the PDF in-process, as the worker would, into a temporary media folder."""


def post_overdue_invoice(*, account, legal_entity, days_ago: int):
    """A 1,200.00 invoice dated `days_ago` days ago on 30-day terms, posted through the invoicing service."""
    from invoicing.models import Invoice, InvoiceLine
    from invoicing.services.documents import invoice_post

    invoice_date = clock.today() - dt.timedelta(days=days_ago)
    invoice = Invoice.objects.create(
        account=account, legal_entity=legal_entity, currency="EUR", payment_terms_days=30, language="en"
    )
    InvoiceLine.objects.create(
        invoice=invoice, source="one_time", description="Set-up", quantity=Decimal("1"), unit_price=Decimal("1000"),
        net_amount=Decimal("1000.00"), tax_amount=Decimal("200.00"), total_amount=Decimal("1200.00"),
    )
    return invoice_post(invoice=invoice, actor=None, today=invoice_date, invoice_date=invoice_date)


def logout(page):
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/login/")


def add_product(page, search: str, sku: str, quantity: str = "1"):
    # The search box works once HTMX has processed the page: typing before the page's scripts ran
    # (the builder is visible as soon as the HTML arrives) sends no search.
    page.wait_for_load_state("load")
    page.fill("#product-search", search)
    row = page.locator(f"#product-results tr[data-sku='{sku}']")
    row.wait_for()
    row.locator("input[name=quantity]").fill(quantity)
    lines_before = page.locator("#quote-lines tbody.line").count()
    row.locator("button:has-text('Add')").click()
    # A locator wait, not wait_for_function: the page's CSP refuses the eval Playwright would use.
    expect(page.locator("#quote-lines tbody.line")).to_have_count(lines_before + 1)


def test_rep_quotes_an_overdue_account_finance_approves_rep_presents_and_wins(page):
    rep = make_user("rita", Role.SALES)
    make_user("felix", Role.FINANCE)
    cat = catalog()
    account = AccountFactory(
        name="Maison Verte", currency="EUR", country="FR", credit_limit_amount=Decimal("50000"), sales_owner=rep,
        payment_terms_days=45,
    )
    post_overdue_invoice(account=account, legal_entity=cat["entity"], days_ago=50)  # due 20 days ago

    # The rep sees the credit picture on the account before quoting.
    login(page, "rita", "pw-rita")
    page.goto(f"{page.base_url}/accounts/{account.pk}/")
    banner = page.locator("#credit-panel [data-code='overdue']")
    assert banner.text_content().strip() == "€1,200.00 is overdue; the oldest unpaid invoice is 20 days late."
    page.click("text=New quote")
    assert page.input_value("#id_payment_terms_days") == "45"
    page.click("button:has-text('Create and add lines')")
    page.wait_for_selector("#quote-header")
    quote = Quote.objects.get()

    # Three lines, found by name or SKU; the platform gets a 25 % discount (threshold 20 %).
    add_product(page, "Platform", "PLAT-USER")
    add_product(page, "ONB", "ONB-1")
    add_product(page, "stor", "STOR-TB", quantity="15")
    platform_row = page.locator("#quote-lines tbody.line[data-product='PLAT-USER']")
    platform_row.locator("input[name=quantity]").fill("10")
    platform_row.locator("input[name=quantity]").press("Tab")
    page.wait_for_selector("[data-total=total_contract_value]:has-text('€13,900.00')")
    platform_row = page.locator("#quote-lines tbody.line[data-product='PLAT-USER']")
    platform_row.locator("input[name=discount_percent]").fill("25")
    platform_row.locator("input[name=discount_percent]").press("Tab")
    page.wait_for_selector("[data-total=total_contract_value]:has-text('€10,900.00')")
    totals = {key: page.text_content(f"[data-total={key}]").strip() for key in
              ("one_time_total", "mrr", "arr", "total_contract_value", "tax_estimate", "grand_total")}
    assert totals == {
        "one_time_total": "€500.00", "mrr": "€866.67", "arr": "€10,400.00", "total_contract_value": "€10,900.00",
        "tax_estimate": "€2,180.00", "grand_total": "€13,080.00",
    }
    # The credit panel on the quote refreshed: what remains after this quote.
    page.wait_for_selector("[data-figure=remaining_after_quote]:has-text('€35,720.00')")
    assert "is overdue" in page.text_content("#credit-panel")
    page.locator("#quote-lines tbody.line[data-product='PLAT-USER'] summary").click()
    assert "Net unit price" in page.text_content("#quote-lines tbody.line[data-product='PLAT-USER'] details")
    shot(page, "quote-builder")

    page.click("button:has-text('Submit')")
    assert page.text_content("[data-testid=quote-status]").strip() == "In review"
    assert page.text_content("[data-testid=approval-reasons]").strip() == (
        "Line 1, Platform: discount of 25.00 % is above the 20 % threshold."
    )
    assert page.locator("button:has-text('Present to customer')").count() == 0
    logout(page)

    # Finance approves with a comment.
    login(page, "felix", "pw-felix")
    page.goto(f"{page.base_url}/quotes/?status=in_review")
    page.click(f"text={quote.number} v1")
    page.fill("#id_comment", "Strategic account, approved once.")
    page.click("button:has-text('Approve')")
    assert page.text_content("[data-testid=quote-status]").strip() == "Approved"
    shot(page, "quote-approved")
    logout(page)

    # The rep presents it, downloads the PDF and marks it accepted.
    login(page, "rita", "pw-rita")
    page.goto(f"{page.base_url}/quotes/{quote.pk}/")
    page.click("button:has-text('Present to customer')")
    assert page.text_content("[data-testid=quote-status]").strip() == "Presented"
    with page.expect_download() as download_info:
        page.click("[data-testid=pdf-link]")
    download = download_info.value
    assert download.suggested_filename == f"{quote.number}-v1.pdf"
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    page.click("button:has-text('Mark accepted')")
    page.wait_for_load_state()
    quote.refresh_from_db()
    assert quote.status == Quote.Status.ACCEPTED
    # The Contracts stage made the draft order with the quote's prices.
    assert [p.net_unit_price for p in quote.order.products.order_by("id")] == [
        line.net_unit_price for line in quote.lines.order_by("position")
    ]
    shot(page, "quote-accepted")
