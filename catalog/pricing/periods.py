"""Billing periods (DESIGN §3 "Billing periods"): where a recurring line's periods start and end.

Every period is half-open ``[start, end)``. Each billing rule defines a grid of boundaries, one every
``frequency_months`` months; each boundary is computed from the grid's anchor month (anchor + k ×
months, with the day clamped to the month's length), never from the previous clamped boundary, so a
31 Jan anchor gives 28 Feb then 31 Mar, not 28 Mar:

- ``anniversary``: the grid starts on the start date and keeps its day of month;
- ``billing_day``: the grid sits on the billing day of month; it goes through the first billing day
  on or after the start date, so the first, partial piece runs from the start date to the next
  billing day (also for quarterly and longer frequencies), then whole periods follow from there;
- ``calendar``: the grid sits on the 1st of calendar months, quarters (Jan, Apr, Jul, Oct),
  half-years (Jan, Jul) or years (Jan).

The pieces between the service's start and end are returned with the full grid period that holds
each one (`full_start`, `full_end`), which proration divides by. The last piece is cut at `end`.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum, StrEnum

from django.utils.translation import gettext as _

from .exact import PricingError
from .proration import DayCount, Factor, proration_factor


class Frequency(IntEnum):
    """A billing frequency; its value is the number of months per period."""

    MONTHLY = 1
    QUARTERLY = 3
    SEMIANNUAL = 6
    ANNUAL = 12

    @property
    def months(self) -> int:
        return int(self)


FREQUENCY_MONTHS = {frequency.name.lower(): frequency.months for frequency in Frequency}


class Boundary(StrEnum):
    ANNIVERSARY = "anniversary"
    BILLING_DAY = "billing_day"
    CALENDAR = "calendar"


@dataclass(frozen=True)
class Period:
    """A served piece ``[start, end)`` and the full billing period ``[full_start, full_end)`` holding it."""

    start: date
    end: date
    full_start: date
    full_end: date

    @property
    def last_day(self) -> date:
        """The inclusive last day served, as screens and PDFs show it."""
        return self.end - timedelta(days=1)

    @property
    def is_full(self) -> bool:
        return self.start == self.full_start and self.end == self.full_end

    def factor(self, day_count: str = DayCount.ACTUAL_DAYS) -> Factor:
        """The proration factor of this piece within its full period."""
        return proration_factor(
            piece_start=self.start,
            piece_end=self.end,
            full_start=self.full_start,
            full_end=self.full_end,
            day_count=day_count,
        )


def add_months(*, anchor: date, months: int, day: int | None = None) -> date:
    """`anchor` moved by `months` months on day `day` (default: the anchor's day), clamped to the month."""
    return _on_day(_month_index(anchor) + months, anchor.day if day is None else day)


def billing_periods(
    *,
    start: date,
    end: date | None,
    frequency_months: int,
    boundary: str,
    billing_day: int | None = None,
    limit_until: date | None = None,
) -> list[Period]:
    """The pieces of ``[start, end)`` cut on the billing rule's grid, in order.

    `end` None is an evergreen subscription: pieces are generated until `limit_until`, which is then
    required. `limit_until` is exclusive and does not cut anything: it keeps the pieces that *start*
    before it, whole (a run with target date T that bills in advance passes T + 1 day).
    """
    if frequency_months not in FREQUENCY_MONTHS.values():
        raise PricingError(
            _("A billing frequency is 1, 3, 6 or 12 months, not %(months)s.") % {"months": frequency_months}
        )
    if end is None and limit_until is None:
        raise PricingError(_("An evergreen subscription needs a date to generate periods until."))
    if end is not None and end < start:
        raise PricingError(
            _("The service end %(end)s is before its start %(start)s.") % {"end": end, "start": start}
        )
    anchor_month, day, first_k = _grid(
        start=start, months=frequency_months, boundary=boundary, billing_day=billing_day
    )

    def grid_date(k: int) -> date:
        return _on_day(anchor_month + k * frequency_months, day)

    periods: list[Period] = []
    k = first_k
    while True:
        full_start, full_end = grid_date(k), grid_date(k + 1)
        piece_start = max(start, full_start)
        if (end is not None and piece_start >= end) or (
            limit_until is not None and piece_start >= limit_until
        ):
            return periods
        piece_end = full_end if end is None else min(full_end, end)
        periods.append(Period(piece_start, piece_end, full_start, full_end))
        k += 1


def _grid(*, start: date, months: int, boundary: str, billing_day: int | None) -> tuple[int, int, int]:
    """(anchor month index, day of month, k of the grid period holding `start`) for a billing rule."""
    try:
        boundary = Boundary(boundary)
    except ValueError:
        raise PricingError(_("Unknown billing boundary “%(boundary)s”.") % {"boundary": boundary}) from None
    start_month = _month_index(start)
    if boundary is Boundary.ANNIVERSARY:
        return start_month, start.day, 0
    if boundary is Boundary.CALENDAR:
        return start_month - start_month % months, 1, 0
    if billing_day is None or not 1 <= billing_day <= 31:
        raise PricingError(_("A billing day of month between 1 and 31 is required."))
    # Anchor the grid on the first billing day on or after the start, so the partial first piece
    # ends on the next billing day whatever the frequency.
    anchor_month = start_month if _on_day(start_month, billing_day) >= start else start_month + 1
    return anchor_month, billing_day, 0 if _on_day(anchor_month, billing_day) == start else -1


def _month_index(value: date) -> int:
    return value.year * 12 + value.month - 1


def _on_day(month_index: int, day: int) -> date:
    year, month0 = divmod(month_index, 12)
    return date(year, month0 + 1, min(day, calendar.monthrange(year, month0 + 1)[1]))
