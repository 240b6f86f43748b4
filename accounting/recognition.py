"""Revenue recognition rules (DESIGN §3 "Revenue and the books"), pure: no database.

A line's net amount is spread over finance periods by its rule; each row is rounded half-up to the
currency's minor unit once, and the last row takes the residue so the rows sum exactly to the net:

- ``daily``: every day of the service period ``[start, end)`` earns the same; a period's row is
  net × days of the service period inside it ÷ days of the service period.
- ``monthly_even``: the service period is cut into months from its start day (anniversary months,
  a short last month counts as a month); each month earns net ÷ months and lands in the finance
  period holding its first day.
- ``monthly_prorated``: calendar months; a full month earns one monthly amount, a partial first or
  last month earns it × its days ÷ the days of that month (monthly amount = net ÷ the months so
  counted).
- ``at_date``: everything on one date (delivery, activation or invoice date).
- ``usage``: everything in the usage period, on its last served day (``end − 1``): the usage is
  rated on the period's total, so it is earned when the period is complete.

Finance periods are given as sorted half-open ``(start, end)`` pairs; without them the calendar
months are used. Rows come out in period order; a period with nothing in it has no row.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from django.utils.translation import gettext as _

from billing_site.money import round_money, to_decimal


class Rule(StrEnum):
    DAILY = "daily"
    MONTHLY_EVEN = "monthly_even"
    MONTHLY_PRORATED = "monthly_prorated"
    AT_DATE = "at_date"
    USAGE = "usage"


class RecognitionError(ValueError):
    """A line cannot be spread: the message names the dates or the rule."""


@dataclass(frozen=True)
class Row:
    period_start: date
    period_end: date
    amount: Decimal


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def add_months(day: date, months: int, anchor_day: int) -> date:
    """`day` moved by `months`, on `anchor_day` clamped to the month's length (31 Jan → 28 Feb)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def calendar_month(day: date) -> tuple[date, date]:
    start = month_start(day)
    return start, next_month(start)


class PeriodGrid:
    """Finds the finance period holding a date: the given periods, else calendar months."""

    def __init__(self, periods: Sequence[tuple[date, date]] | None = None):
        self.periods = sorted(periods) if periods else []

    def period_of(self, day: date) -> tuple[date, date]:
        for start, end in self.periods:
            if start <= day < end:
                return start, end
        return calendar_month(day)

    def spans(self, start: date, end: date):
        """Consecutive pieces of ``[start, end)``, one per finance period: (period, piece days)."""
        cursor = start
        while cursor < end:
            period = self.period_of(cursor)
            piece_end = min(period[1], end)
            yield period, (piece_end - cursor).days
            cursor = piece_end


def _spread(weights: list[tuple[tuple[date, date], Fraction]], net: Decimal, currency: str) -> list[Row]:
    """Rows from exact weights (summing to 1): each rounded once, the residue on the last row."""
    merged: dict[tuple[date, date], Fraction] = {}
    for period, weight in weights:
        merged[period] = merged.get(period, Fraction(0)) + weight
    items = sorted(merged.items())
    rows: list[Row] = []
    running = Decimal(0)
    exact_net = Fraction(net)
    for index, (period, weight) in enumerate(items):
        if index == len(items) - 1:
            amount = round_money(net - running, currency)
        else:
            amount = round_money(_decimal(exact_net * weight), currency)
        running += amount
        rows.append(Row(period[0], period[1], amount))
    return rows


def _decimal(value: Fraction) -> Decimal:
    # 28 significant places are plenty before rounding to a minor unit (at most 3 places).
    return Decimal(value.numerator) / Decimal(value.denominator)


def recognition_rows(
    *,
    rule: str,
    net_amount,
    currency: str,
    service_start: date | None,
    service_end: date | None,
    at_date: date | None = None,
    periods: Sequence[tuple[date, date]] | None = None,
) -> list[Row]:
    """The schedule of one line: rows per finance period summing exactly to `net_amount`."""
    net = round_money(to_decimal(net_amount), currency)
    try:
        rule = Rule(rule)
    except ValueError:
        raise RecognitionError(_("Unknown recognition rule “%(rule)s”.") % {"rule": rule}) from None
    grid = PeriodGrid(periods)
    has_period = service_start is not None and service_end is not None and service_start < service_end
    if service_start is not None and service_end is not None and service_end < service_start:
        raise RecognitionError(
            _("The service period %(start)s–%(end)s ends before it starts.") % {"start": service_start, "end": service_end}
        )
    if rule == Rule.AT_DATE or not has_period:
        day = (at_date or service_start) if rule == Rule.AT_DATE else (service_start or at_date)
        if day is None:
            raise RecognitionError(_("The rule “%(rule)s” needs a date to recognize on.") % {"rule": rule})
        return [Row(*grid.period_of(day), net)]
    if rule == Rule.USAGE:
        return [Row(*grid.period_of(service_end - timedelta(days=1)), net)]
    total_days = (service_end - service_start).days
    if rule == Rule.DAILY:
        weights = [(period, Fraction(days, total_days)) for period, days in grid.spans(service_start, service_end)]
        return _spread(weights, net, currency)
    if rule == Rule.MONTHLY_EVEN:
        starts = []
        months = 0
        cursor = service_start
        while cursor < service_end:
            starts.append(cursor)
            months += 1
            cursor = add_months(service_start, months, service_start.day)
        weights = [(grid.period_of(start), Fraction(1, len(starts))) for start in starts]
        return _spread(weights, net, currency)
    # monthly_prorated: calendar months, partial ones by their days.
    pieces = []
    cursor = service_start
    while cursor < service_end:
        m_start, m_end = calendar_month(cursor)
        piece_end = min(m_end, service_end)
        pieces.append((cursor, Fraction((piece_end - cursor).days, (m_end - m_start).days)))
        cursor = piece_end
    months = sum((w for _d, w in pieces), Fraction(0))
    weights = [(grid.period_of(day), w / months) for day, w in pieces]
    return _spread(weights, net, currency)


def amount_recognized_by(rows: Sequence[Row], day: date) -> Decimal:
    """What the rows have recognized at the end of the period holding `day` (rows ending ≤ its end)."""
    return sum((r.amount for r in rows if r.period_start <= day), Decimal(0))
