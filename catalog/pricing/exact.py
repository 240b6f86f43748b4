"""Exact arithmetic for the pricing engine: the error type, an exact Decimal context, fractions.

Nothing here rounds money except `round_fraction_money`, which hands the exact value to
`billing_site.money.round_money` (the one rounding of money in Recur) in a form that rounds the same
way as the exact fraction would.
"""

from contextlib import AbstractContextManager
from decimal import Context, Decimal, Inexact, localcontext
from fractions import Fraction

from django.utils.translation import gettext_lazy

from billing_site.errors import DomainError
from billing_site.money import minor_units, round_money, to_decimal

ZERO = Decimal("0")
DISPLAY_PLACES = 6

# Unit prices and quantities carry at most 6 decimal places, so products of a few of them stay far
# below 60 significant digits; trapping Inexact turns any silent rounding into a loud error.
_EXACT_CONTEXT = Context(prec=60, traps=[Inexact])


class PricingError(DomainError):
    """A price, period or proration cannot be computed from the given inputs."""

    code = "pricing_error"
    default_message = gettext_lazy("The price cannot be computed.")


def exact_context() -> AbstractContextManager:
    """A Decimal context in which + - * are exact (and anything inexact raises).

    Never call `round_money` inside it: quantizing is inexact by design and would trap.
    """
    return localcontext(_EXACT_CONTEXT)


def as_fraction(value) -> Fraction:
    """An exact Fraction from an int, str, Decimal or Fraction (floats are refused)."""
    if isinstance(value, Fraction):
        return value
    return Fraction(to_decimal(value))


def fraction_to_decimal(value: Fraction, places: int = DISPLAY_PLACES) -> Decimal:
    """Round a fraction half-up (away from zero) to `places` decimals, exactly (for display)."""
    scaled = abs(value) * 10**places
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    sign = "-" if value < 0 and whole else ""
    return Decimal(f"{sign}{whole}E-{places}")


def format_fraction(value: Fraction, places: int = DISPLAY_PLACES) -> str:
    """'35/12 = 2.916667': the exact fraction and its rounded decimal value."""
    return f"{value.numerator}/{value.denominator} = {fraction_to_decimal(value, places)}"


def round_fraction_money(value: Fraction, currency: str) -> Decimal:
    """Round an exact fraction of money half-up to the currency's minor unit, once.

    A fraction such as 90 × 8/31 has no finite decimal form. Converting it with a limited precision
    and then rounding would round twice. Instead we give `round_money` a representative decimal with
    one digit more than the currency keeps plus a trailing 5 when the fraction goes on beyond it:
    half-up rounding only looks at that next digit and at whether anything follows, so the
    representative rounds exactly as the fraction does.
    """
    places = minor_units(currency) + 1
    scaled = abs(value) * 10**places
    digits, rest = divmod(scaled.numerator, scaled.denominator)
    sign = "-" if value < 0 else ""
    if rest == 0:
        representative = Decimal(f"{sign}{digits}E-{places}")
    else:
        representative = Decimal(f"{sign}{digits * 10 + 5}E-{places + 1}")
    rounded = round_money(representative, currency)
    return rounded.copy_abs() if rounded.is_zero() else rounded
