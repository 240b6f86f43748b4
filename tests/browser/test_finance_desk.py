"""The finance desk in a real browser: a French payment form round-trip, the phone menu, search."""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing_site import clock
from billing_site.models import UserProfile
from billing_site.roles import Role
from conftest import make_user
from payments.models import Payment
from payments.tests.factories import AccountFactory
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_french_payment_form_keeps_12_5_and_the_date_and_follows_the_account_currency(page):
    user = make_user("b-fr", Role.FINANCE)
    UserProfile.objects.create(user=user, language="fr")
    account = AccountFactory(name="Acme Corp", currency="USD")
    received = clock.today() - dt.timedelta(days=3)
    login(page, "b-fr", "pw-b-fr")
    page.goto(page.base_url + "/payments/new/")
    page.select_option("#id_account", str(account.pk))
    assert page.input_value("#id_currency") == "USD"  # follows the account
    page.select_option("#id_currency", "EUR")
    assert page.is_visible("#currency-warning")
    assert page.text_content("#currency-warning") == (
        "Ce compte est facturé en USD : un paiement en EUR ne peut pas régler ses factures.")
    page.fill("#id_amount", "12,5")
    page.fill("#id_received_date", received.isoformat())
    page.click("button:has-text('Enregistrer un paiement')")
    # Refused (another currency not confirmed): everything typed comes back as typed.
    page.wait_for_selector(".banner-bad")
    assert page.input_value("#id_amount") == "12,5"
    assert page.input_value("#id_received_date") == received.isoformat()
    assert "est facturé en USD : un paiement en EUR ne peut pas régler ses factures" in page.text_content("main")
    shot(page, "payment-form-fr-refused")
    page.select_option("#id_currency", "USD")
    assert not page.is_visible("#currency-warning")
    page.click("button:has-text('Enregistrer un paiement')")
    page.wait_for_selector("#payment-figures")
    payment = Payment.objects.get()
    assert (payment.amount, payment.currency, payment.received_date) == (D("12.50"), "USD", received)
    assert received.strftime("%d/%m/%Y") in page.text_content("main")
    shot(page, "payment-detail-fr")


def test_at_390_px_the_menu_opens_and_tables_scroll_inside_their_card(page):
    make_user("b-phone", Role.FINANCE)
    for n in range(3):
        AccountFactory(name=f"Compte très long numéro {n} avec un nom qui n'en finit pas")
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "b-phone", "pw-b-phone")
    assert not page.is_visible("nav.stages >> text=Invoices")
    page.click("label.menu-button")
    assert page.is_visible("nav.stages >> text=Invoices")
    shot(page, "phone-menu-open")
    page.click("nav.stages >> text=Accounts")
    page.wait_for_url("**/accounts/**")
    assert not page.is_visible("nav.stages >> text=Invoices")  # a new page starts folded
    # The page never scrolls sideways: the table scrolls inside its own box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-account-list")
    page.click("text=ACC-")
    page.wait_for_selector("#credit-panel")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-account-credit")


def test_keyboard_users_skip_to_the_content_and_see_where_they_are(page):
    make_user("b-keys", Role.FINANCE)
    login(page, "b-keys", "pw-b-keys")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.is_visible(".skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


def test_global_search_from_the_top_bar(page):
    from payments.tests.factories import posted_invoice

    make_user("b-find", Role.SALES)
    account = AccountFactory(name="Boulangeries Martin")
    invoice = posted_invoice(account, ["300.00"], invoice_date=clock.today())
    login(page, "b-find", "pw-b-find")
    page.fill("#global-search", "boulangeries")
    page.press("#global-search", "Enter")
    page.wait_for_selector("[data-kind=accounts]")
    assert page.text_content("[data-kind=accounts] li a") == f"{account.number} · Boulangeries Martin"
    assert page.input_value("#global-search") == "boulangeries"
    shot(page, "search-results")
    page.fill("#global-search", invoice.number)
    page.press("#global-search", "Enter")
    page.wait_for_selector("[data-kind=invoices]")
    page.click(f"[data-kind=invoices] >> text={invoice.number}")
    page.wait_for_url(f"**/invoicing/{invoice.pk}/")
