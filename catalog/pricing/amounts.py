"""Line amounts: unit price × quantity × factor, rounded once; tax on the rounded net, rounded once.

`amount_for_piece` is the one place a schedule line's amount is rounded. Pass the factor as a
`Factor` (proration), a `Fraction` (prorate multiplier, number of periods) or an int. For a tiered,
volume, block or package price, pass the extended `price_for_quantity(...)` as `unit_price` and a
quantity of 1.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import gettext as _

from billing_site.money import round_money, sum_money, to_decimal

from .exact import (
    _EXACT_CONTEXT,
    PricingError,
    as_fraction,
    format_fraction,
    round_fraction_money,
)
from .periods import Period, billing_periods
from .proration import DayCount, Factor

HUNDRED = Decimal(100)


def amount_for_piece(
    *, unit_price: Decimal, quantity: Decimal, factor: Factor | Fraction | int, currency: str
) -> Decimal:
    """round_money(unit_price × quantity × factor), computed exactly and rounded once."""
    exact = as_fraction(unit_price) * as_fraction(quantity) * _factor_value(factor)
    return round_fraction_money(exact, currency)


@dataclass(frozen=True)
class PieceAmount:
    """One piece of a service range: its period, its factor and its own amount (rounded once)."""

    period: Period
    factor: Factor
    amount: Decimal


@dataclass(frozen=True)
class Breakdown:
    """The amount of a service range, piece by piece and in total.

    `pieces` carry their own rounded amounts: that is what a billing schedule bills, one line per
    period. `total_amount` is the range quoted as one line: the exact sum of the factors
    (`periods`) × unit price × quantity, rounded once. The two can differ by rounding;
    `pieces_amount` (the sum of the rounded pieces) is given to show it.
    """

    pieces: tuple[PieceAmount, ...]
    periods: Fraction
    total_amount: Decimal
    pieces_amount: Decimal
    currency: str

    @property
    def periods_display(self) -> str:
        """'318/31 = 10.258065'."""
        return format_fraction(self.periods)


def service_amount(
    *,
    unit_price: Decimal,
    quantity: Decimal,
    start: date,
    end: date,
    frequency_months: int,
    boundary: str,
    billing_day: int | None = None,
    day_count: str = DayCount.ACTUAL_DAYS,
    currency: str,
) -> Breakdown:
    """The price of serving ``[start, end)`` at `unit_price` per period; see `Breakdown`."""
    periods = billing_periods(
        start=start, end=end, frequency_months=frequency_months, boundary=boundary, billing_day=billing_day
    )
    pieces = []
    for period in periods:
        factor = period.factor(day_count)
        amount = amount_for_piece(unit_price=unit_price, quantity=quantity, factor=factor, currency=currency)
        pieces.append(PieceAmount(period=period, factor=factor, amount=amount))
    count = sum((piece.factor.value for piece in pieces), Fraction(0))
    return Breakdown(
        pieces=tuple(pieces),
        periods=count,
        total_amount=amount_for_piece(
            unit_price=unit_price, quantity=quantity, factor=count, currency=currency
        ),
        pieces_amount=sum_money((piece.amount for piece in pieces), currency),
        currency=currency,
    )


def periods_between(
    *,
    start: date,
    end: date,
    frequency_months: int,
    boundary: str,
    billing_day: int | None = None,
    day_count: str = DayCount.ACTUAL_DAYS,
) -> Fraction:
    """How many billing periods ``[start, end)`` spans, exactly (8/31 + 10 periods = 318/31)."""
    periods = billing_periods(
        start=start, end=end, frequency_months=frequency_months, boundary=boundary, billing_day=billing_day
    )
    return sum((period.factor(day_count).value for period in periods), Fraction(0))


def tax_for_line(*, net_amount: Decimal, rate_percent: Decimal, currency: str) -> Decimal:
    """Tax of a line: the rounded net × rate ÷ 100, rounded once."""
    net_amount, rate_percent = to_decimal(net_amount), to_decimal(rate_percent)
    if round_money(net_amount, currency) != net_amount:
        raise PricingError(
            _("Tax is computed on the rounded net amount; %(amount)s is not rounded to %(currency)s.")
            % {"amount": net_amount, "currency": currency}
        )
    if rate_percent < 0:
        raise PricingError(_("A tax rate must not be negative."))
    # The exact context's own methods: exact (Inexact traps) without switching the thread's context
    # for each of the run's 600,000 lines.
    exact = _EXACT_CONTEXT.divide(_EXACT_CONTEXT.multiply(net_amount, rate_percent), HUNDRED)
    return round_money(exact, currency)


def _factor_value(factor) -> Fraction:
    if isinstance(factor, Factor):
        return factor.value
    return as_fraction(factor)
