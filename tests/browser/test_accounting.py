"""The books in a real browser: close a finance period after its preview, read the revenue report."""

import datetime as dt

import pytest

from accounting.models import FinancePeriod
from accounting.services import books_process, period_close
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


def test_reverse_a_journal_entry_with_a_reason(page):
    from accounting.models import JournalEntry

    make_user("b-rev-entry", Role.FINANCE)
    _year_billed()
    entry = JournalEntry.objects.get(kind=JournalEntry.Kind.INVOICE)
    login(page, "b-rev-entry", "pw-b-rev-entry")
    page.click("nav.stages >> text=Books")
    page.wait_for_selector("#periods")
    page.click(f"#period-{entry.period.name} td.num a")
    page.wait_for_selector("#journal")
    page.click(f"#entry-{entry.pk} a")
    page.wait_for_selector("#reverse-preview")
    assert "365.00" in page.text_content("#reverse-lines")
    page.fill("#id_reason", "Billed to the wrong customer")
    shot(page, "books-reverse-preview")
    page.click("#confirm-reverse")
    page.wait_for_selector(".messages")
    mirror = JournalEntry.objects.get(reverses=entry)
    assert f"Entry {entry.pk} is reversed by entry {mirror.pk}" in page.text_content(".messages")
    assert mirror.label == "Billed to the wrong customer"
    assert page.locator("#reverse-preview").count() == 0
    shot(page, "books-reversal-posted")


def test_account_page_and_timeline_show_revenue_to_date(page):
    from customers.models import Account

    make_user("b-rev-todate", Role.SALES)
    _year_billed()
    period_close(period=FinancePeriod.objects.get(name="2025-01"), actor=None, today=dt.date(2025, 2, 1))
    account = Account.objects.get(name="Boulangeries Martin")
    login(page, "b-rev-todate", "pw-b-rev-todate")
    page.goto(page.base_url + f"/accounts/{account.pk}/")
    page.wait_for_selector("#revenue-panel")
    panel = page.text_content("#revenue-panel")
    assert "€365.00" in panel and "€31.00" in panel and "€334.00" in panel
    page.goto(page.base_url + f"/payments/accounts/{account.pk}/timeline/")
    page.wait_for_selector("#timeline-figures")
    assert page.text_content("#fig-revenue-recognized").strip() == "€31.00"
    assert page.text_content("#fig-revenue-deferred").strip() == "€334.00"
    shot(page, "books-timeline-revenue")
