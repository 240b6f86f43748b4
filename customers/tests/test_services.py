from decimal import Decimal

import pytest

from billing_site.errors import Forbidden, ValidationFailed
from billing_site.models import AuditLog
from customers import services
from customers.models import Account, Contact
from customers.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Boulangerie Petit", "legal_name": "Boulangerie Petit SARL", "country": "FR", "currency": "EUR",
    "language": "fr", "payment_terms_days": 45, "billing_day": 15, "credit_limit_amount": Decimal("5000"),
    "billing_emails": "compta@petit.fr, dg@petit.fr",
}


def test_account_create_numbers_and_audits(finance_user):
    account = services.account_create(actor=finance_user, data=VALID)
    assert account.number == f"ACC-{account.pk:05d}"
    assert account.billing_email_list == ["compta@petit.fr", "dg@petit.fr"]
    row = AuditLog.objects.get(object_type="customers.account", object_id=str(account.pk))
    assert (row.action, row.to_state, row.actor_label) == ("created", "active", "fiona")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("billing_day", 32, "Ensure this value is less than or equal to 31."),
        ("billing_day", 0, "Ensure this value is greater than or equal to 1."),
        ("country", "XX", "“XX” is not an ISO 3166 country code."),
        ("currency", "ABC", "“ABC” is not a supported currency."),
        ("billing_emails", "ok@x.fr, not-an-email", "“not-an-email” is not a valid email address."),
        ("payment_terms_days", 400, "Ensure this value is less than or equal to 365."),
        ("credit_limit_amount", Decimal("-1"), "Ensure this value is greater than or equal to 0."),
    ],
)
def test_account_create_refuses_bad_input_and_saves_nothing(finance_user, field, value, message):
    with pytest.raises(ValidationFailed) as exc:
        services.account_create(actor=finance_user, data={**VALID, field: value})
    assert exc.value.fields == {field: [message]}
    assert Account.objects.count() == 0
    assert AuditLog.objects.count() == 0


def test_sales_cannot_set_credit_terms(sales_user):
    with pytest.raises(Forbidden) as exc:
        sales_data = {k: v for k, v in VALID.items() if k not in services.FINANCE_FIELDS}
        services.account_create(actor=sales_user, data={**sales_data, "credit_hold": True})
    assert exc.value.fields == {"credit_hold": ["Only finance can change this field."]}
    account = AccountFactory(sales_owner=sales_user)
    with pytest.raises(Forbidden):
        services.account_update(account=account, actor=sales_user, data={"credit_limit_amount": Decimal("1")})
    account.refresh_from_db()
    assert account.credit_limit_amount == Decimal("10000.00")


def test_sales_can_edit_the_rest(sales_user):
    account = AccountFactory(name="Old", sales_owner=sales_user)
    services.account_update(account=account, actor=sales_user, data={"name": "New", "city": "Lyon"})
    account.refresh_from_db()
    assert (account.name, account.city) == ("New", "Lyon")
    row = AuditLog.objects.get(action="updated")
    assert row.data == {"city": ["Paris", "Lyon"], "name": ["Old", "New"]}


def test_credit_hold_change_is_audited_from_to(finance_user):
    account = AccountFactory()
    services.account_set_credit_hold(account=account, actor=finance_user, hold=True, reason="90 days overdue")
    row = AuditLog.objects.get(action="credit_hold_changed")
    assert (row.from_state, row.to_state, row.message) == ("false", "true", "90 days overdue")


def test_one_billing_contact_per_account(finance_user):
    account = AccountFactory()
    first = services.contact_create(
        account=account, actor=finance_user,
        data={"first_name": "A", "last_name": "One", "email": "a@x.fr", "is_billing_contact": True},
    )
    second = services.contact_create(
        account=account, actor=finance_user,
        data={"first_name": "B", "last_name": "Two", "email": "b@x.fr", "is_billing_contact": True},
    )
    assert list(Contact.objects.filter(is_billing_contact=True)) == [second]
    first.refresh_from_db()
    assert first.is_billing_contact is False


def test_contact_with_bad_email_is_refused(finance_user):
    account = AccountFactory()
    with pytest.raises(ValidationFailed) as exc:
        services.contact_create(account=account, actor=finance_user, data={"first_name": "A", "last_name": "B", "email": "nope"})
    assert exc.value.fields == {"email": ["Enter a valid email address."]}
    assert Contact.objects.count() == 0
