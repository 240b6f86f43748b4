"""Display helpers for prices that keep more decimals than money (unit prices, quantities)."""

from babel.numbers import format_currency, format_decimal
from django import template
from django.utils import translation

from billing_site.money import to_decimal

register = template.Library()


def _locale() -> str:
    lang = (translation.get_language() or "en")[:2]
    return {"en": "en_US", "fr": "fr_FR"}.get(lang, lang)


@register.filter
def unitprice(value, currency="EUR"):
    """A unit price in its currency with the currency's decimals and up to 6 when it has more:
    '€0.0025' per API call, '€49.00' per seat."""
    if value is None or value == "":
        return ""
    if hasattr(value, "amount") and hasattr(value, "currency"):
        value, currency = value.amount, str(value.currency)
    # The locale's own pattern pads to the currency's decimals; without quantization it keeps the
    # extra ones a unit price may have (stored with 6 places, shown without trailing zeros).
    amount = to_decimal(value).normalize()
    return format_currency(amount, str(currency), locale=_locale(), decimal_quantization=False)


@register.filter
def qty(value):
    """A quantity with up to 6 decimals, no trailing zeros: '12', '2.5'."""
    if value is None or value == "":
        return ""
    return format_decimal(to_decimal(value), format="#,##0.######", locale=_locale())
