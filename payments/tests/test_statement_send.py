"""An account statement is emailed from its page to the billing contacts, and each email is logged."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from invoicing.models import DocumentSend
from payments.tests.factories import AccountFactory, posted_invoice

pytestmark = pytest.mark.django_db


def test_finance_sends_the_statement_and_sees_it_logged(finance_client, finance_user):
    account = AccountFactory(billing_emails="ap@client.test")
    posted_invoice(account, ["120.00"], invoice_date=dt.date(2026, 10, 1))
    url = reverse("payments:statement-send", args=[account.pk])
    response = finance_client.post(url + "?start=2026-01-01&end=2026-10-31", follow=True)
    page = response.content.decode()
    assert "Statement sent to ap@client.test." in page
    [email] = mail.outbox
    assert (email.to, email.subject) == (["ap@client.test"], f"Account statement {account.number} at 2026-10-31")
    assert email.attachments[0][0] == f"statement-{account.number}-2026-10-31.pdf"
    assert list(DocumentSend.objects.values_list("account", "statement_end", "recipients", "sent_by")) == [
        (account.pk, dt.date(2026, 10, 31), "ap@client.test", finance_user.pk)]
    assert 'id="statement-sends"' in page and "ap@client.test" in page


def test_a_statement_without_a_billing_email_is_refused(client, sales_user, finance_user):
    account = AccountFactory(billing_emails="")
    url = reverse("payments:statement-send", args=[account.pk])
    client.force_login(sales_user)
    assert client.post(url).status_code == 403
    client.force_login(finance_user)
    response = client.post(url, follow=True)
    assert "No billing email on the account." in response.content.decode()
    assert not mail.outbox and not DocumentSend.objects.exists()


def test_the_api_sends_the_statement_for_finance_only(finance_api, sales_api, finance_user):
    account = AccountFactory(billing_emails="ap@client.test")
    posted_invoice(account, ["120.00"], invoice_date=dt.date(2026, 10, 1))
    url = f"/api/v1/accounts/{account.pk}/statement/send/"
    assert sales_api.post(url, {}, format="json").status_code == 403
    response = finance_api.post(url, {"start": "2026-01-01", "end": "2026-10-31"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["account"], body["recipients"], body["sent_by"]) == (account.pk, "ap@client.test", finance_user.pk)
    [email] = mail.outbox
    assert (email.to, email.subject) == (["ap@client.test"], f"Account statement {account.number} at 2026-10-31")
    assert email.attachments[0][0] == f"statement-{account.number}-2026-10-31.pdf"


def test_the_api_refuses_a_statement_without_a_billing_email_or_with_reversed_dates(finance_api):
    account = AccountFactory(billing_emails="")
    url = f"/api/v1/accounts/{account.pk}/statement/send/"
    response = finance_api.post(url, {}, format="json")
    assert (response.status_code, response.json()["error"]["message"]) == (400, "No billing email on the account.")
    other = AccountFactory(billing_emails="ap@client.test")
    response = finance_api.post(f"/api/v1/accounts/{other.pk}/statement/send/", {"start": "2026-10-31", "end": "2026-01-01"},
                                format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"start": ["The start date must be on or before the end date."]}
    assert not mail.outbox and not DocumentSend.objects.exists()
