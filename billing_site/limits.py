"""The bounds Recur accepts, in one place: quantities, prices, amounts and plausible dates.

Amount columns are `max_digits=18, decimal_places=6`: 12 digits before the point. A value the
column cannot hold must be refused at the door with a message, not overflow in the database (a 500)
or, worse, come back as another number. The limits leave room for the arithmetic: a line's quantity
times its unit price must still fit, so both stay below 10⁹ and each computed total is checked
against MAX_AMOUNT too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext as _

from billing_site.money import format_money, minor_units, round_money

MAX_QUANTITY = Decimal("999999999")
MAX_UNIT_PRICE = Decimal("999999999")
MAX_AMOUNT = Decimal("999999999999.99")
# Business dates of payments and bank lines: not older than this many years, not further ahead than
# this many days. Anything outside is a typo (2052 for 2025) or a corrupt file.
PAST_YEARS = 10
FUTURE_DAYS = 366


def _fmt(value: Decimal) -> str:
    return f"{value:,}"


def quantity_error(value: Decimal) -> str | None:
    """Why this quantity is refused, or None."""
    if not value.is_finite() or abs(value) > MAX_QUANTITY:
        return _("The quantity must be at most %(max)s.") % {"max": _fmt(MAX_QUANTITY)}
    return None


def unit_price_error(value: Decimal) -> str | None:
    if not value.is_finite() or abs(value) > MAX_UNIT_PRICE:
        return _("The price must be at most %(max)s.") % {"max": _fmt(MAX_UNIT_PRICE)}
    return None


def amount_error(value: Decimal) -> str | None:
    if not value.is_finite() or abs(value) > MAX_AMOUNT:
        return _("The amount must be at most %(max)s.") % {"max": _fmt(MAX_AMOUNT)}
    return None


def date_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last business date accepted for payments and bank lines on `today`."""
    try:
        first = today.replace(year=today.year - PAST_YEARS)
    except ValueError:  # 29 February
        first = today.replace(year=today.year - PAST_YEARS, day=28)
    return first, today + dt.timedelta(days=FUTURE_DAYS)


def date_error(day: dt.date, today: dt.date) -> str | None:
    first, last = date_window(today)
    if not first <= day <= last:
        return _("The date must be between %(first)s and %(last)s.") % {"first": first.isoformat(), "last": last.isoformat()}
    return None


def unit_price_precision_error(*, extended: Decimal, unit_price: Decimal, quantity: Decimal, currency: str) -> str | None:
    """A flat or tiered price becomes a unit price of 6 decimals for the quantity; for a huge quantity
    that unit no longer carries the price (1,188.00 for 1,000,000,000 units is 0.000001 a unit, which
    bills 1,000.00). Refused when the unit price times the quantity misses the price by more than one
    minor unit of the currency, instead of quoting or billing another amount."""
    missed = abs(round_money(unit_price * quantity, currency) - round_money(extended, currency))
    if missed > Decimal(1).scaleb(-minor_units(currency)):
        return _("At a quantity of %(quantity)s the unit price cannot carry the price of %(price)s; quote a smaller quantity.") % {
            "quantity": _fmt(quantity.normalize()), "price": format_money(extended, currency)}
    return None
