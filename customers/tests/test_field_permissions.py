"""Who may change what on an account (issue: a sales rep set `tax_exempt` and tax vanished from invoices).

Only Finance and Admin change the fields that drive tax, currency or billing; a sales rep edits the
contact details and notes of the accounts they own. Pages, API and admin go through the same service.
"""

import pytest
from django.urls import reverse

from billing_site.models import AuditLog
from billing_site.roles import Role
from conftest import make_user
from customers.models import Account, Contact
from customers.services import FINANCE_FIELDS
from customers.tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

FIELD_REFUSED = "Only finance can change this field."
OWNER_MESSAGE = "Only the account's sales owner, finance or an admin can change this account."


def test_the_finance_only_fields_are_written_down_once():
    assert FINANCE_FIELDS == (
        "legal_name", "country", "tax_id", "tax_exempt", "currency", "status", "billing_day",
        "payment_terms_days", "credit_limit_amount", "credit_hold", "sales_owner",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("tax_exempt", True), ("country", "US"), ("currency", "USD"), ("status", "suspended"), ("billing_day", 15),
     ("tax_id", "FR999"), ("legal_name", "Other SAS"), ("payment_terms_days", 90)],
)
def test_sales_owner_cannot_patch_tax_currency_or_billing_fields(sales_api, sales_user, field, value):
    account = AccountFactory(sales_owner=sales_user)
    response = sales_api.patch(f"/api/v1/accounts/{account.pk}/", {field: value}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "forbidden",
            "message": "Only finance can change tax, currency, billing and credit terms.",
            "fields": {field: [FIELD_REFUSED]},
        }
    }
    fresh = Account.objects.get(pk=account.pk)
    assert (fresh.tax_exempt, fresh.country, fresh.currency, fresh.status, fresh.billing_day) == (False, "FR", "EUR", "active", 1)
    assert not AuditLog.objects.filter(action="updated").exists()


def test_the_refusal_names_every_refused_field(sales_api, sales_user):
    account = AccountFactory(sales_owner=sales_user)
    response = sales_api.patch(
        f"/api/v1/accounts/{account.pk}/", {"tax_exempt": True, "currency": "USD", "city": "Lyon"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["fields"] == {"currency": [FIELD_REFUSED], "tax_exempt": [FIELD_REFUSED]}
    assert Account.objects.get(pk=account.pk).city == "Paris"


def test_sales_owner_edits_contact_details_and_notes(sales_api, sales_user):
    account = AccountFactory(sales_owner=sales_user)
    body = {"name": "New name", "city": "Lyon", "billing_emails": "a@b.fr", "notes": "Call on Mondays", "language": "fr"}
    response = sales_api.patch(f"/api/v1/accounts/{account.pk}/", body, format="json")
    assert response.status_code == 200, response.json()
    fresh = Account.objects.get(pk=account.pk)
    assert (fresh.name, fresh.city, fresh.billing_emails, fresh.notes, fresh.language) == (
        "New name", "Lyon", "a@b.fr", "Call on Mondays", "fr"
    )


def test_sales_rep_cannot_edit_an_account_they_do_not_own(sales_api):
    other = make_user("other-rep", Role.SALES)
    account = AccountFactory(sales_owner=other, name="Theirs")
    response = sales_api.patch(f"/api/v1/accounts/{account.pk}/", {"notes": "mine now"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"error": {"code": "forbidden", "message": OWNER_MESSAGE, "fields": {}}}
    contact = sales_api.post(
        "/api/v1/contacts/", {"account": account.pk, "first_name": "A", "last_name": "B", "email": "a@b.fr"}, format="json"
    )
    assert contact.status_code == 403
    assert Contact.objects.count() == 0
    # Reading stays open to every role: reps need the credit picture.
    assert sales_api.get(f"/api/v1/accounts/{account.pk}/").status_code == 200
    assert Account.objects.get(pk=account.pk).notes == ""


def test_finance_and_admin_change_every_field_of_every_account(finance_api, admin_user):
    account = AccountFactory()
    response = finance_api.patch(
        f"/api/v1/accounts/{account.pk}/", {"tax_exempt": True, "status": "suspended", "billing_day": 15}, format="json"
    )
    assert response.status_code == 200
    from rest_framework.test import APIClient

    admin_api = APIClient()
    admin_api.force_authenticate(admin_user)
    assert admin_api.patch(f"/api/v1/accounts/{account.pk}/", {"currency": "USD"}, format="json").status_code == 200
    fresh = Account.objects.get(pk=account.pk)
    assert (fresh.tax_exempt, fresh.status, fresh.billing_day, fresh.currency) == (True, "suspended", 15, "USD")


def test_a_rep_opening_an_account_owns_it_and_sets_only_its_identity(sales_api, sales_user):
    body = {"name": "New Co", "country": "DE", "currency": "EUR", "legal_name": "New Co GmbH", "tax_id": "DE1"}
    response = sales_api.post("/api/v1/accounts/", body, format="json")
    assert response.status_code == 201, response.json()
    account = Account.objects.get()
    assert (account.sales_owner, account.country, account.tax_exempt) == (sales_user, "DE", False)
    refused = sales_api.post("/api/v1/accounts/", {**body, "tax_exempt": True}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["fields"] == {"tax_exempt": [FIELD_REFUSED]}
    other = make_user("other-rep", Role.SALES)
    given_away = sales_api.post("/api/v1/accounts/", {**body, "sales_owner": other.pk}, format="json")
    assert given_away.json()["error"]["fields"] == {"sales_owner": [FIELD_REFUSED]}
    assert Account.objects.count() == 1


def test_edit_page_shows_tax_and_billing_fields_read_only_and_ignores_them(sales_client, sales_user):
    account = AccountFactory(sales_owner=sales_user)
    url = reverse("customers:edit", args=[account.pk])
    form = sales_client.get(url).context["form"]
    assert sorted(n for n, f in form.fields.items() if f.disabled) == sorted(FINANCE_FIELDS)
    data = {
        "name": "Renamed", "status": "closed", "currency": "USD", "language": "en", "country": "US",
        "tax_exempt": "on", "payment_terms_days": 30, "billing_day": 1, "credit_limit_amount": "10000",
        "billing_emails": "",
    }
    assert sales_client.post(url, data).status_code == 302
    fresh = Account.objects.get(pk=account.pk)
    assert (fresh.name, fresh.status, fresh.currency, fresh.country, fresh.tax_exempt) == ("Renamed", "active", "EUR", "FR", False)


def test_pages_of_an_account_a_rep_does_not_own_are_refused(sales_client):
    account = AccountFactory(sales_owner=make_user("other-rep", Role.SALES))
    contact = ContactFactory(account=account)
    assert sales_client.get(reverse("customers:edit", args=[account.pk])).status_code == 403
    assert sales_client.post(reverse("customers:contact-create", args=[account.pk]), {}).status_code == 403
    assert sales_client.post(reverse("customers:contact-delete", args=[account.pk, contact.pk])).status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()
    detail = sales_client.get(reverse("customers:detail", args=[account.pk]))
    assert detail.status_code == 200
    assert reverse("customers:edit", args=[account.pk]) not in detail.content.decode()
