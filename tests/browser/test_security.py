"""Sign-in lockout as a person sees it, and a sales rep's account form with the finance fields read-only."""

import pytest

from billing_site.roles import Role
from conftest import make_user
from customers.tests.factories import AccountFactory
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_repeated_wrong_passwords_lock_the_sign_in(page):
    make_user("fiona", Role.FINANCE)
    for _ in range(5):
        page.goto(page.base_url + "/login/")
        page.fill("#id_username", "fiona")
        page.fill("#id_password", "wrong")
        page.click("button[type=submit]")
    page.goto(page.base_url + "/login/")
    page.fill("#id_username", "fiona")
    page.fill("#id_password", "pw-fiona")
    page.click("button[type=submit]")
    banner = page.get_by_test_id("lockout")
    assert banner.inner_text() == (
        "Too many failed sign-in attempts: sign-in is locked for this user or address for 30 minutes. "
        "An administrator can lift the lock."
    )
    assert page.url == page.base_url + "/login/"
    shot(page, "security-lockout")


def test_a_sales_rep_edits_contact_details_but_not_tax_fields(page):
    rep = make_user("sam", Role.SALES)
    account = AccountFactory(name="Maison Verte", sales_owner=rep)
    login(page, "sam", "pw-sam")
    page.goto(f"{page.base_url}/accounts/{account.pk}/edit/")
    for field in ("tax_exempt", "country", "currency", "status", "billing_day", "tax_id", "legal_name"):
        assert page.locator(f"#id_{field}").is_disabled(), field
    page.fill("#id_city", "Lyon")
    page.fill("#id_notes", "Call on Mondays")
    shot(page, "security-sales-account-form")
    page.click("form.card button[type=submit]")
    page.wait_for_url(f"{page.base_url}/accounts/{account.pk}/")
    assert "Lyon" in page.locator("#account-header").inner_text()
