"""Discounts on the list unit price (DESIGN §3): a line discount, then an optional quote-level percent.

The line discount is either a percent or an amount per unit, never both. The quote-level percent
applies after it, on the line's already discounted price, so discounts compound: 10 % on the line
and 5 % on the quote take 100.00 to 100 × 0.90 × 0.95 = 85.50 (14.5 % off, not 15 %). The whole
chain is computed exactly and the net unit price is rounded once, to 6 decimal places.
"""

from decimal import Decimal

from django.utils.translation import gettext as _

from billing_site.money import round_unit, to_decimal

from .exact import ZERO, PricingError, exact_context

HUNDRED = Decimal(100)


def apply_discount(
    *,
    list_unit_price: Decimal,
    percent: Decimal | None = None,
    amount_per_unit: Decimal | None = None,
    quote_percent: Decimal | None = None,
) -> Decimal:
    """Net unit price after the line discount and the quote-level percent, rounded to 6 places."""
    list_unit_price = to_decimal(list_unit_price)
    if list_unit_price < 0:
        raise PricingError(_("The list price must not be negative."))
    if percent is not None and amount_per_unit is not None:
        raise PricingError(_("Give a discount percent or an amount per unit, not both."))
    net = list_unit_price
    with exact_context():
        if percent is not None:
            net = net * (HUNDRED - _checked_percent(percent)) / HUNDRED
        if amount_per_unit is not None:
            amount_per_unit = to_decimal(amount_per_unit)
            if amount_per_unit < 0:
                raise PricingError(_("The discount amount must not be negative."))
            net = net - amount_per_unit
        if net < 0:
            raise PricingError(
                _("The discount of %(discount)s is more than the list price of %(price)s.")
                % {"discount": amount_per_unit, "price": list_unit_price}
            )
        if quote_percent is not None:
            net = net * (HUNDRED - _checked_percent(quote_percent)) / HUNDRED
    return round_unit(net)


def _checked_percent(value) -> Decimal:
    value = to_decimal(value)
    if not ZERO <= value <= HUNDRED:
        raise PricingError(
            _("A discount percent must be between 0 and 100, not %(percent)s.") % {"percent": value}
        )
    return value
