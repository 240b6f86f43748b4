"""Quote template helpers."""

from decimal import Decimal

from babel.numbers import format_currency
from django import template
from django.utils import translation

from billing_site.money import _babel_locale, minor_units, to_decimal

register = template.Library()


@register.filter
def unitmoney(amount, currency="EUR"):
    """A unit price per locale with the currency's decimals, or up to 6 when it has them: '€93.333333'."""
    if amount is None or amount == "":
        return ""
    amount = to_decimal(amount)
    exponent = amount.normalize().as_tuple().exponent
    places = max(minor_units(str(currency)), -exponent if isinstance(exponent, int) else 0)
    # Only trailing zeros are dropped, never a digit: this is display, not rounding.
    shown = amount.quantize(Decimal(1).scaleb(-places))
    return format_currency(
        shown, str(currency), locale=_babel_locale(translation.get_language()), decimal_quantization=False
    )
