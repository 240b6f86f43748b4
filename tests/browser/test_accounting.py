"""The books in a real browser: close a finance period after its preview, read the revenue report."""

import datetime as dt

import pytest

from accounting.models import FinancePeriod
from accounting.services import books_process
from accounting.tests.factories import AccountFactory, posted_invoice
from billing_site.roles import Role
from conftest import make_user
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def _year_billed():
    account = AccountFactory(name="Boulangeries Martin")
    start = dt.date(2025, 1, 1)
    posted_invoice(account, [("365.00", start, dt.date(2026, 1, 1), None)], invoice_date=start)
    books_process(today=start)


def test_close_a_period_after_its_preview(page):
    make_user("b-books", Role.FINANCE)
    _year_billed()
    login(page, "b-books", "pw-b-books")
    page.click("nav.stages >> text=Books")
    page.wait_for_selector("#periods")
    page.click("#period-2025-01 >> text=Close…")
    page.wait_for_selector("#close-preview")
    assert "checks that the journal balances" in page.text_content("#close-preview")
    shot(page, "books-close-preview")
    page.click("#confirm-close")
    page.wait_for_selector(".messages")
    assert "The period 2025-01 is closed." in page.text_content(".messages")
    assert "Closed" in page.text_content("#period-2025-01")
    assert FinancePeriod.objects.get(name="2025-01").is_closed
    shot(page, "books-periods-after-close")


def test_revenue_report_shows_the_roll_forward_and_waterfall(page):
    make_user("b-rev", Role.FINANCE)
    _year_billed()
    login(page, "b-rev", "pw-b-rev")
    page.goto(page.base_url + "/accounting/revenue/?currency=EUR&year=2025")
    page.wait_for_selector("#rollforward")
    first = page.text_content("#rollforward tbody tr:first-child")
    assert "€365.00" in first and "€31.00" in first and "€334.00" in first
    assert page.locator("#recognized svg").count() == 1
    assert page.locator("#waterfall tbody tr").count() == 12
    shot(page, "books-revenue-report")
