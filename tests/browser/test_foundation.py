import pytest

from billing_site.roles import Role
from conftest import make_user
from customers.models import Account
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("role", "heading"),
    [(Role.FINANCE, "Finance dashboard"), (Role.SALES, "Sales dashboard"), (Role.ADMIN, "Administration dashboard")],
)
def test_each_role_logs_in_and_sees_its_dashboard(page, role, heading):
    make_user(f"b-{role.value.lower()}", role)
    login(page, f"b-{role.value.lower()}", f"pw-b-{role.value.lower()}")
    assert page.text_content("[data-testid=dashboard-role]").strip() == heading
    shot(page, f"dashboard-{role.value.lower()}")


def test_create_and_edit_an_account_fixing_an_invalid_field(page):
    make_user("b-fin", Role.FINANCE)
    login(page, "b-fin", "pw-b-fin")
    page.click("text=Accounts")
    page.click("text=New account")
    page.fill("#id_name", "Maison Verte")
    page.fill("#id_legal_name", "Maison Verte SAS")
    page.select_option("#id_country", "FR")
    page.select_option("#id_currency", "EUR")
    page.fill("#id_billing_day", "35")
    page.fill("#id_billing_emails", "compta@maisonverte.fr")
    page.click("button:has-text('Save')")
    error = page.text_content("#field-billing_day .errorlist")
    assert error.strip() == "Ensure this value is less than or equal to 31."
    # What was typed is still there.
    assert page.input_value("#id_name") == "Maison Verte"
    shot(page, "account-form-error")
    page.fill("#id_billing_day", "15")
    page.click("button:has-text('Save')")
    page.wait_for_selector("#account-header")
    assert "Account Maison Verte created." in page.text_content(".messages")
    account = Account.objects.get(name="Maison Verte")
    assert account.billing_day == 15
    page.click("text=Edit")
    page.fill("#id_city", "Lyon")
    page.click("button:has-text('Save')")
    page.wait_for_selector("#account-header")
    account.refresh_from_db()
    assert account.city == "Lyon"
    shot(page, "account-detail")


def test_switch_to_french(page):
    make_user("b-fr", Role.FINANCE)
    login(page, "b-fr", "pw-b-fr")
    with page.expect_navigation():
        page.select_option("#lang-select", "fr")
    assert page.get_attribute("html", "lang") == "fr"
    page.goto(page.base_url + "/accounts/")
    assert page.is_visible("text=Nouveau compte")
    shot(page, "accounts-fr")
