"""The aging report summed in SQL: totals, accounts worst first, read a page at a time, and the CSV."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from payments.selectors.reports import aging_report
from payments.tests.factories import AccountFactory, posted_invoice

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 30)


@pytest.fixture
def book(db):
    a, b, c = AccountFactory(name="Atelier A"), AccountFactory(name="Brasserie B"), AccountFactory(name="Cave C")
    posted_invoice(a, ["300.00"], invoice_date=dt.date(2026, 3, 1), due_date=dt.date(2026, 3, 31))  # 91 days late
    posted_invoice(b, ["500.00"], invoice_date=dt.date(2026, 6, 20), due_date=dt.date(2026, 7, 20))  # not due
    posted_invoice(c, ["100.00"], invoice_date=dt.date(2026, 5, 1), due_date=dt.date(2026, 5, 31))  # 30 days late
    posted_invoice(c, ["50.00"], invoice_date=dt.date(2026, 6, 1), due_date=dt.date(2026, 6, 30))   # due today
    return a, b, c


def test_totals_and_accounts_worst_first_a_page_at_a_time(book):
    a, b, c = book
    report = aging_report(today=TODAY, currency="EUR")
    assert report["totals"] == {"current": D("550.00"), "d1_30": D("100.00"), "d31_60": D("0.00"), "d61_90": D("0.00"),
                                "d90_plus": D("300.00")}
    assert (report["total"], report["accounts"], report["rows"].count()) == (D("950.00"), 3, 3)
    assert [(r["name"], r["overdue"], r["total"], r["oldest_due"]) for r in report["rows"][0:3]] == [
        ("Atelier A", D("300.00"), D("300.00"), dt.date(2026, 3, 31)),
        ("Cave C", D("100.00"), D("150.00"), dt.date(2026, 5, 31)),
        ("Brasserie B", D("0.00"), D("500.00"), dt.date(2026, 7, 20)),
    ]
    assert [r["name"] for r in report["rows"][1:3]] == ["Cave C", "Brasserie B"]
    assert report["rows"][2]["buckets"] == {"current": D("500.00"), "d1_30": D("0.00"), "d31_60": D("0.00"), "d61_90": D("0.00"),
                                            "d90_plus": D("0.00")}
    assert [r["name"] for r in report["rows"]] == ["Atelier A", "Cave C", "Brasserie B"]


def test_the_page_and_the_csv_list_every_account(book, finance_client):
    response = finance_client.get(reverse("payments:reports"), {"currency": "EUR", "as_of": "2026-06-30"})
    assert [r["name"] for r in response.context["page"].object_list] == ["Atelier A", "Cave C", "Brasserie B"]
    csv_text = b"".join(finance_client.get(reverse("payments:aging-export"), {"currency": "EUR", "as_of": "2026-06-30"})
                        .streaming_content).decode("utf-8-sig")
    assert [line.split(",")[1] for line in csv_text.splitlines()[1:]] == ["Atelier A", "Cave C", "Brasserie B"]
