import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import Account
from customers.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_list_searches_filters_and_sorts(finance_client):
    AccountFactory(name="Zeta Corp", currency="USD", country="US")
    AccountFactory(name="Alpha SAS", credit_hold=True)
    AccountFactory(name="Beta SARL")
    response = finance_client.get(reverse("customers:list"), {"q": "alph"})
    assert [a.name for a in response.context["page"].object_list] == ["Alpha SAS"]
    response = finance_client.get(reverse("customers:list"), {"currency": "USD"})
    assert [a.name for a in response.context["page"].object_list] == ["Zeta Corp"]
    response = finance_client.get(reverse("customers:list"), {"credit_hold": "true"})
    assert [a.name for a in response.context["page"].object_list] == ["Alpha SAS"]
    response = finance_client.get(reverse("customers:list"), {"sort": "-name"})
    assert [a.name for a in response.context["page"].object_list] == ["Zeta Corp", "Beta SARL", "Alpha SAS"]


def test_list_paginates_by_25(finance_client):
    for i in range(30):
        AccountFactory(name=f"Client {i:02d}")
    response = finance_client.get(reverse("customers:list"), {"page": 2})
    assert [a.name for a in response.context["page"].object_list] == [f"Client {i:02d}" for i in range(25, 30)]


def test_list_query_count_does_not_grow_with_rows(finance_client, django_assert_max_num_queries):
    for _ in range(25):
        AccountFactory()
    with django_assert_max_num_queries(6):
        finance_client.get(reverse("customers:list"))


def test_csv_export_follows_the_filters(finance_client):
    AccountFactory(name="Alpha SAS", credit_limit_amount=Decimal("1500.50"))
    AccountFactory(name="Beta SARL")
    response = finance_client.get(reverse("customers:export"), {"q": "Alpha"})
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:3] == ["number", "name", "legal_name"]
    assert len(rows) == 2
    assert rows[1][1] == "Alpha SAS" and rows[1][12] == "1500.5"


def test_create_shows_field_errors_and_keeps_what_was_typed(finance_client):
    data = {
        "name": "Nouvelle Société", "status": "active", "currency": "EUR", "language": "fr", "country": "FR",
        "payment_terms_days": 30, "billing_day": 42, "credit_limit_amount": "0", "billing_emails": "a@b.fr",
    }
    response = finance_client.post(reverse("customers:create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"billing_day": ["Ensure this value is less than or equal to 31."]}
    assert "Nouvelle Société" in response.content.decode()
    assert Account.objects.count() == 0
    data["billing_day"] = 28
    response = finance_client.post(reverse("customers:create"), data)
    account = Account.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("customers:detail", args=[account.pk])
    assert account.billing_day == 28


def test_sales_rep_sees_credit_terms_read_only(sales_client, sales_user):
    account = AccountFactory(credit_limit_amount=Decimal("10000.00"), sales_owner=sales_user)
    response = sales_client.get(reverse("customers:edit", args=[account.pk]))
    assert response.context["form"].fields["credit_limit_amount"].disabled is True
    data = {
        "name": "Renamed", "status": "active", "currency": "EUR", "language": "en", "country": "FR",
        "payment_terms_days": 5, "billing_day": 1, "credit_limit_amount": "999999", "billing_emails": "",
    }
    response = sales_client.post(reverse("customers:edit", args=[account.pk]), data)
    assert response.status_code == 302
    account.refresh_from_db()
    # Disabled fields keep their saved value whatever was posted.
    assert (account.name, account.credit_limit_amount, account.payment_terms_days) == ("Renamed", Decimal("10000.00"), 30)


def test_detail_shows_header_contacts_and_tabs(finance_client):
    account = AccountFactory(name="Alpha SAS", credit_limit_amount=Decimal("12345.60"))
    response = finance_client.get(reverse("customers:detail", args=[account.pk]))
    html = response.content.decode()
    assert "Alpha SAS" in html and "€12,345.60" in html
    assert [key for key, _ in response.context["tabs"]] == ["overview", "quotes", "contracts", "invoices", "payments", "activity"]


def test_detail_in_french_formats_money_the_french_way(finance_client):
    account = AccountFactory(credit_limit_amount=Decimal("12345.60"))
    response = finance_client.get(reverse("customers:detail", args=[account.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    html = response.content.decode()
    assert "12\u202f345,60\u00a0€" in html
    assert "Limite de crédit" in html
