from decimal import Decimal

import pytest
from django.utils import translation

from billing_site import money


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1.005", "EUR", "1.01"),
        ("1.004999", "EUR", "1.00"),
        ("2.675", "EUR", "2.68"),
        ("-1.005", "EUR", "-1.01"),
        ("0.5", "JPY", "1"),
        ("1.5", "JPY", "2"),
        ("2.4999", "JPY", "2"),
        ("-0.5", "JPY", "-1"),
        ("1.0005", "KWD", "1.001"),
        ("1.0004", "KWD", "1.000"),
        ("123.45649", "KWD", "123.456"),
        ("0", "EUR", "0.00"),
    ],
)
def test_round_money_is_half_up_to_the_minor_unit(amount, currency, expected):
    result = money.round_money(Decimal(amount), currency)
    assert result == Decimal(expected)
    assert str(result) == expected


@pytest.mark.parametrize(("currency", "places"), [("EUR", 2), ("USD", 2), ("JPY", 0), ("KWD", 3)])
def test_minor_units_come_from_babel(currency, places):
    assert money.minor_units(currency) == places


def test_floats_are_refused():
    with pytest.raises(TypeError):
        money.round_money(1.005, "EUR")


def test_round_unit_keeps_six_places():
    assert money.round_unit(Decimal("2.9166666666")) == Decimal("2.916667")


def test_sum_money_keeps_the_currency_exponent():
    assert str(money.sum_money([Decimal("1.10"), Decimal("2.2")], "EUR")) == "3.30"
    assert str(money.sum_money([], "JPY")) == "0"


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("en", "1234.56", "EUR", "€1,234.56"),
        ("fr", "1234.56", "EUR", "1\u202f234,56\u00a0€"),
        ("en", "1234.5", "USD", "$1,234.50"),
        ("fr", "1234", "JPY", "1\u202f234\u00a0JPY"),
        ("en", "1.234", "KWD", "KWD1.234"),
    ],
)
def test_format_money_per_locale(language, amount, currency, expected):
    assert money.format_money(Decimal(amount), currency, language) == expected


def test_format_money_uses_active_language():
    with translation.override("fr"):
        assert money.format_money(Decimal("1234.56"), "EUR") == "1\u202f234,56\u00a0€"


@pytest.mark.parametrize(
    ("language", "value", "places", "expected"),
    [
        ("en", "0.002500", None, "0.0025"),
        ("en", "1234.5", None, "1,234.5"),
        ("en", "12.000000", None, "12"),
        ("en", "2.5", 2, "2.50"),
        ("fr", "1234.0025", None, "1\u202f234,0025"),
    ],
)
def test_numfmt_keeps_significant_decimals(language, value, places, expected):
    from billing_site.templatetags.recur import numfmt

    with translation.override(language):
        assert numfmt(Decimal(value), places) == expected


@pytest.mark.parametrize(
    ("language", "value", "currency", "expected"),
    [
        ("en", "0.002500", "EUR", "€0.0025"),
        ("en", "49", "EUR", "€49.00"),
        ("en", "93.333333", "EUR", "€93.333333"),
        ("en", "1.5", "JPY", "¥1.5"),
        ("en", "0.1", "KWD", "KWD0.100"),
        ("fr", "1200", "EUR", "1\u202f200,00\u00a0€"),
    ],
)
def test_unitprice_keeps_the_decimals_a_unit_price_has(language, value, currency, expected):
    from billing_site.templatetags.recur import unitprice

    with translation.override(language):
        assert unitprice(Decimal(value), currency) == expected
