"""The admin goes through the account services: Finance check, field permissions and audit rows."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing_site.models import AuditLog
from billing_site.roles import Role
from conftest import make_user
from customers.models import Account, Contact
from customers.tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def admin_form(account: Account, **changes) -> dict:
    data = {
        "name": account.name, "legal_name": account.legal_name, "address_line1": "", "address_line2": "",
        "postal_code": "", "city": account.city, "region": "", "country": account.country, "tax_id": "",
        "currency": account.currency, "language": account.language, "payment_terms_days": account.payment_terms_days,
        "billing_day": account.billing_day, "credit_limit_amount": str(account.credit_limit_amount),
        "billing_emails": account.billing_emails, "sales_owner": account.sales_owner_id or "", "status": account.status,
        "notes": "",
        "contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0", "contacts-MIN_NUM_FORMS": "0", "contacts-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


def test_admin_credit_changes_write_the_audit_rows(client, admin_user):
    account = AccountFactory()
    client.force_login(admin_user)
    url = reverse("admin:customers_account_change", args=[account.pk])
    response = client.post(url, admin_form(account, credit_limit_amount="2500.00", credit_hold="on"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    account.refresh_from_db()
    assert (account.credit_limit_amount, account.credit_hold) == (Decimal("2500.00"), True)
    rows = AuditLog.objects.filter(object_type="customers.account", object_id=str(account.pk)).order_by("id")
    assert [(r.action, r.from_state, r.to_state, r.actor_label) for r in rows] == [
        ("credit_hold_changed", "false", "true", "ada"), ("updated", "", "", "ada"),
    ]
    assert rows[1].data == {"credit_hold": ["False", "True"], "credit_limit_amount": ["10000.000000", "2500.00"]}


def test_a_staff_user_without_finance_cannot_change_credit_terms_in_the_admin(client):
    rep = make_user("rep-staff", Role.SALES)
    rep.is_staff = True
    rep.save()
    account = AccountFactory(sales_owner=rep)
    client.force_login(rep)
    url = reverse("admin:customers_account_change", args=[account.pk])
    response = client.post(url, admin_form(account, credit_limit_amount="1.00", tax_exempt="on"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "tax_exempt": ["Only finance can change this field."],
        "credit_limit_amount": ["Only finance can change this field."],
    }
    account.refresh_from_db()
    assert (account.credit_limit_amount, account.tax_exempt) == (Decimal("10000.00"), False)
    assert not AuditLog.objects.filter(action="updated").exists()


def test_admin_contact_inline_and_contact_admin_go_through_the_services(client, admin_user):
    account = AccountFactory()
    first = ContactFactory(account=account, is_billing_contact=True)
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:customers_contact_add"),
        {"account": account.pk, "first_name": "Paul", "last_name": "Roux", "email": "paul@x.fr", "is_billing_contact": "on"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    first.refresh_from_db()
    # The service moves the billing-contact flag and audits on the account.
    assert (first.is_billing_contact, Contact.objects.get(first_name="Paul").is_billing_contact) == (False, True)
    assert AuditLog.objects.filter(action="contact_added", object_id=str(account.pk)).count() == 1


def test_accounts_cannot_be_deleted_in_the_admin(client, admin_user):
    account = AccountFactory()
    client.force_login(admin_user)
    assert client.get(reverse("admin:customers_account_delete", args=[account.pk])).status_code == 403
