"""Proration factors (DESIGN §3 "Proration") and the quote's prorate multiplier, kept as exact fractions.

Day counts
----------
- ``actual_days``: days in the piece ÷ days in the full billing period (12 of 31 days = 12/31).
- ``thirty_360``: the 30E/360 count, every month 30 days. A date counts as
  ``360 × year + 30 × month + min(day, 30)`` and a piece is the difference between its end and its
  start, so the 31st adds nothing: 2025-01-15 → 2025-02-01 is 1 − 15 + 30 = 16 days. The
  denominator is 30 × the number of months of the full period (a monthly period is always 30).

  One adjustment keeps a full period at exactly 30 × months: a period boundary that was clamped to
  the end of a short month (31 Jan → *28 Feb* → 31 Mar, or a billing day 30 in February) counts as
  the day it stands for, capped at 30. Plain 30E/360 would count 31 Jan → 28 Feb as 28 days and
  28 Feb → 31 Mar as 32. The adjustment only touches the full period's own two boundaries, so the
  day counts of the pieces of a period still add up to its denominator.

Either way a full period's factor is exactly 1 and the factors of the pieces of a period sum to 1.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from django.utils.translation import gettext as _

from .exact import DISPLAY_PLACES, PricingError, as_fraction, fraction_to_decimal

DEFAULT_TERM_MONTHS = 12


class DayCount(StrEnum):
    ACTUAL_DAYS = "actual_days"
    THIRTY_360 = "thirty_360"


@dataclass(frozen=True)
class Factor:
    """An exact proration factor: the days counted over the days of the full period (not reduced)."""

    numerator: int
    denominator: int

    def __post_init__(self):
        if self.denominator <= 0:
            raise PricingError(_("A proration factor needs a positive denominator."))

    @property
    def value(self) -> Fraction:
        return Fraction(self.numerator, self.denominator)

    def decimal(self, places: int = DISPLAY_PLACES) -> Decimal:
        """The factor rounded half-up to `places` decimals, for display only."""
        return fraction_to_decimal(self.value, places)

    def __str__(self) -> str:
        """'12/31 = 0.387097': the days counted and the factor, as printed on a line."""
        return f"{self.numerator}/{self.denominator} = {self.decimal()}"


def proration_factor(
    *, piece_start: date, piece_end: date, full_start: date, full_end: date, day_count: str
) -> Factor:
    """The factor of the piece ``[piece_start, piece_end)`` within ``[full_start, full_end)``."""
    if not full_start < full_end:
        raise PricingError(_("A billing period must end after it starts."))
    if not full_start <= piece_start <= piece_end <= full_end:
        raise PricingError(
            _("The piece %(piece_start)s–%(piece_end)s is not inside the period %(full_start)s–%(full_end)s.")
            % {
                "piece_start": piece_start,
                "piece_end": piece_end,
                "full_start": full_start,
                "full_end": full_end,
            }
        )
    try:
        day_count = DayCount(day_count)
    except ValueError:
        raise PricingError(_("Unknown day count “%(day_count)s”.") % {"day_count": day_count}) from None
    if day_count is DayCount.ACTUAL_DAYS:
        return Factor((piece_end - piece_start).days, (full_end - full_start).days)

    def position(value: date) -> int:
        return _thirty_360_position(value, full_start=full_start, full_end=full_end)

    months = (full_end.year - full_start.year) * 12 + full_end.month - full_start.month
    if months < 1 or position(full_end) - position(full_start) != 30 * months:
        raise PricingError(
            _("The 30/360 day count needs a billing period of whole months, not %(start)s–%(end)s.")
            % {"start": full_start, "end": full_end}
        )
    return Factor(position(piece_end) - position(piece_start), 30 * months)


def _thirty_360_position(value: date, *, full_start: date, full_end: date) -> int:
    """A date's 30E/360 day number, with the full period's clamped boundaries counted as intended."""
    day = min(value.day, 30)
    if value == full_start and _is_month_end(full_start) and full_start.day < full_end.day:
        day = min(full_end.day, 30)
    elif value == full_end and _is_month_end(full_end) and full_end.day < full_start.day:
        day = min(full_start.day, 30)
    return 360 * value.year + 30 * value.month + day


def _is_month_end(value: date) -> bool:
    return (value + timedelta(days=1)).day == 1


def prorate_multiplier(*, line_term_months: int | Decimal, default_term_months: int | None) -> Fraction:
    """Line term ÷ the product's default term (blank: 12 months); a 24-month line of a 12-month price is 2.

    Show it with `format_fraction`: 35 months of a 12-month price print as '35/12 = 2.916667'.
    """
    term = as_fraction(line_term_months)
    default = as_fraction(DEFAULT_TERM_MONTHS if default_term_months is None else default_term_months)
    if default <= 0:
        raise PricingError(_("The product's default term must be at least one month."))
    if term < 0:
        raise PricingError(_("The line term must not be negative."))
    return term / default
