"""Decimals in the API: money at the currency's minor unit, other numbers with their significant decimals."""

from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from rest_framework import serializers

from billing_site.api_fields import DecimalValueField, plain_decimal


class Row(serializers.Serializer):
    total_amount = DecimalValueField(max_digits=18, decimal_places=6)
    amount = DecimalValueField(max_digits=18, decimal_places=6)
    unit_price = DecimalValueField(max_digits=18, decimal_places=6)
    quantity = DecimalValueField(max_digits=18, decimal_places=6)


@pytest.mark.parametrize("currency, expected", [
    ("EUR", {"total_amount": "250.00", "amount": "0.01", "unit_price": "93.333333", "quantity": "2.5"}),
    ("JPY", {"total_amount": "250", "amount": "0", "unit_price": "93.333333", "quantity": "2.5"}),
    ("KWD", {"total_amount": "250.000", "amount": "0.005", "unit_price": "93.333333", "quantity": "2.5"}),
])
def test_money_at_the_currencys_precision_and_units_at_their_significant_decimals(currency, expected):
    row = SimpleNamespace(currency=currency, total_amount=D("250.000000"), amount=D("0.005000"),
                          unit_price=D("93.333333"), quantity=D("2.500000"))
    assert Row(row).data == expected


def test_a_line_takes_its_documents_currency():
    line = SimpleNamespace(invoice=SimpleNamespace(currency="JPY"), total_amount=D("1200.000000"), amount=None,
                           unit_price=D("1200.000000"), quantity=D("1.000000"))
    assert Row(line).data == {"total_amount": "1200", "amount": None, "unit_price": "1200", "quantity": "1"}


def test_plain_decimal_never_uses_exponents():
    assert [plain_decimal(D(v)) for v in ("1E+3", "1000.000000", "0.000001", "-12.50")] == ["1000", "1000", "0.000001", "-12.5"]
