"""Find anything: one search box over accounts, quotes, orders, contracts, invoices, credit notes and
payments, grouped by kind; lists with page numbers and a page size."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from payments import services as payment_services
from payments.tests.factories import AccountFactory, posted_credit_note, posted_invoice

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 10)


def _groups(html: str) -> dict[str, list[str]]:
    groups = {}
    for kind, body in re.findall(r'<section class="card search-group" data-kind="([a-z_]+)">(.*?)</section>', html, re.S):
        groups[kind] = re.findall(r'<li><a href="[^"]+">([^<]+)</a>', body)
    return groups


@pytest.fixture
def documents():
    account = AccountFactory(name="Maison Verte")
    AccountFactory(name="Maison Bleue")
    invoice = posted_invoice(account, ["120.00"], invoice_date=TODAY)
    note = posted_credit_note(account, "20.00", credit_date=TODAY, invoice=invoice)
    payment = payment_services.payment_record(account=account, amount=Decimal("100.00"), currency="EUR", received_date=TODAY,
                                              method="check", today=TODAY, reference="VIR MAISON 42")
    return account, invoice, note, payment


def test_search_groups_results_by_kind(sales_client, documents):
    account, invoice, note, payment = documents
    html = sales_client.get(reverse("search"), {"q": "maison"}).content.decode()
    assert _groups(html) == {
        "accounts": [f"{a.number} · {a.name}" for a in sorted([account, *type(account).objects.exclude(pk=account.pk)],
                                                                  key=lambda a: a.name)],
        "payments": [str(payment)],  # by its bank reference
    }
    assert _groups(sales_client.get(reverse("search"), {"q": invoice.number}).content.decode()) == {"invoices": [invoice.number]}
    assert _groups(sales_client.get(reverse("search"), {"q": note.number}).content.decode()) == {"credit_notes": [note.number]}
    assert _groups(sales_client.get(reverse("search"), {"q": account.number.lower()}).content.decode()) == {
        "accounts": [f"{account.number} · Maison Verte"]}
    assert _groups(sales_client.get(reverse("search"), {"q": f"Payment {payment.pk}"}).content.decode()) == {
        "payments": [str(payment)]}


def test_a_short_or_unknown_query_says_so(finance_client, documents):
    assert "Type at least 2 characters." in finance_client.get(reverse("search"), {"q": "m"}).content.decode()
    assert "Nothing matches “zzz-nothing”." in finance_client.get(reverse("search"), {"q": "zzz-nothing"}).content.decode()


def test_search_needs_a_login(client):
    response = client.get(reverse("search"), {"q": "maison"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_lists_show_page_numbers_and_take_a_page_size(finance_client):
    for n in range(130):
        AccountFactory(name=f"Compte {n:03d}")
    html = finance_client.get(reverse("customers:list"), {"page": "3"}).content.decode()
    numbers = re.findall(r'<a href="\?page=(\d+)">\d+</a>|<span class="current" aria-current="page">(\d+)</span>', html)
    assert [a or b for a, b in numbers] == ["1", "2", "3", "4", "5", "6"]
    assert "Page 3 of 6 · 130 items" in html
    assert '<option value="25" selected>25</option>' in html
    html = finance_client.get(reverse("customers:list"), {"page_size": "100", "page": "2"}).content.decode()
    assert "Page 2 of 2 · 130 items" in html and '<option value="100" selected>100</option>' in html
    html = finance_client.get(reverse("customers:list"), {"page_size": "7"}).content.decode()
    assert "Page 1 of 6 · 130 items" in html  # a size not offered falls back to the default
