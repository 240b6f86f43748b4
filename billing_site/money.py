"""The one module that rounds money.

Amounts are `Decimal`, never `float`. Each currency rounds half-up to its minor unit (from Babel:
EUR 2, JPY 0, KWD 3), once per line; document totals are sums of rounded lines. Unit prices and
quantities keep up to six decimal places.
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import format_currency, format_decimal, get_currency_precision

UNIT_PLACES = 6
UNIT_QUANTUM = Decimal(1).scaleb(-UNIT_PLACES)
ZERO = Decimal("0")


@lru_cache(maxsize=64)
def minor_units(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (EUR 2, JPY 0, KWD 3)."""
    return get_currency_precision(currency.upper())


@lru_cache(maxsize=64)
def quantum(currency: str) -> Decimal:
    """The smallest amount of the currency, e.g. Decimal('0.01') for EUR."""
    return Decimal(1).scaleb(-minor_units(currency))


def decimal_places(value: Decimal) -> int:
    """Digits after the point as written (Decimal("1.50") has 2); 0 for whole and non-finite numbers."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def to_decimal(value) -> Decimal:
    """Convert an int, str or Decimal to Decimal; floats are refused so no binary error sneaks in."""
    if isinstance(value, float):
        raise TypeError("Money must not be built from a float; pass a str, int or Decimal.")
    if isinstance(value, Decimal):
        return value
    return Decimal(value)


def round_money(amount, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit: the only rounding of money in Recur."""
    return to_decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def round_unit(value) -> Decimal:
    """Round a unit price or quantity half-up to six decimal places."""
    return to_decimal(value).quantize(UNIT_QUANTUM, rounding=ROUND_HALF_UP)


def sum_money(amounts, currency: str) -> Decimal:
    """Sum already-rounded amounts; the result keeps the currency's exponent."""
    total = sum((to_decimal(a) for a in amounts), ZERO)
    return total.quantize(quantum(currency))


def _babel_locale(language: str | None) -> str:
    from django.utils import translation

    lang = (language or translation.get_language() or "en").replace("-", "_")
    return {"en": "en_US", "fr": "fr_FR"}.get(lang, lang)


def format_money(amount, currency: str, language: str | None = None) -> str:
    """Format per locale: '€1,234.56' in English, '1 234,56 €' in French."""
    if amount is None:
        return ""
    return format_currency(to_decimal(amount), currency.upper(), locale=_babel_locale(language))


def format_unit_price(amount, currency: str, language: str | None = None) -> str:
    """A unit price with the currency's decimals, or up to six when it has more ('€93.333333')."""
    amount = to_decimal(amount)
    exponent = amount.normalize().as_tuple().exponent
    places = max(minor_units(currency), -exponent if isinstance(exponent, int) else 0)
    shown = amount.quantize(Decimal(1).scaleb(-places))
    return format_currency(shown, currency.upper(), locale=_babel_locale(language), decimal_quantization=False)


def format_number(value, language: str | None = None, places: int | None = None) -> str:
    """Format a plain decimal per locale (quantities, factors)."""
    if value is None:
        return ""
    value = to_decimal(value)
    if places is not None:
        fmt = "#,##0." + "0" * places if places else "#,##0"
        return format_decimal(value, format=fmt, locale=_babel_locale(language))
    return format_decimal(value, locale=_babel_locale(language))
