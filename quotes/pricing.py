"""Pricing one quote line and totalling a quote: pure functions over the catalog's pricing engine.

No database access here: the service snapshots the price book entry and the product, then asks
these functions for the numbers, so a quote, its preview and its tests share one computation.

Line rules (DESIGN §3 "Quote pricing")
--------------------------------------
- *Unit price.* The list unit price is the entry's price for the quantity divided by the quantity
  (``price_for_quantity(q) ÷ q``, half-up to 6 places): for a `per_unit` price without free units
  it is the entry's unit price itself; a flat, tiered, volume, block or package price becomes the
  unit price of the quantity quoted. This is how the order and the contract bill the line
  (``unit price × quantity × factor``), so the quote shows the numbers they will bill.
- *Discounts* apply to the list unit price (`apply_discount`): a percent or an amount per unit, then
  the quote-level percent. The net unit price is rounded once to 6 places by the engine.
- *Recurring* lines: total = net × billing quantity × prorate multiplier, rounded once, where the
  multiplier is the line term ÷ the product's default term (blank: 12). The line term is the number
  of monthly anniversary periods in ``[start, end)`` counted by the engine (`periods_between`):
  whole months give an integer (12, 24, 35), a broken month adds the exact day fraction of the
  month it falls in (15 Jan → 1 Mar 2026 = 1 + 14/28 months).
- *One-time* lines: total = net × billing quantity, rounded once.
- *Usage* lines: rated later on what is used; they add nothing to the quote's value and show their
  rates (unit price or tiers) instead.

Quote totals
------------
- one-time total = Σ one-time line totals; TCV = Σ line totals (recurring and one-time);
- monthly value of a recurring line = line total ÷ line term (months), kept exact;
  MRR = Σ monthly values and ARR = 12 × Σ monthly values, each rounded once at the quote level;
- estimated tax = Σ `tax_for_line(line total, rate)`, each line's tax rounded once.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import gettext as _

from billing_site.limits import unit_price_precision_error
from billing_site.money import ZERO, format_money, round_unit, sum_money, to_decimal
from catalog.pricing import (  # noqa: F401 - spec_*_snapshot re-exported for quotes callers
    PriceSpec,
    PricingError,
    amount_for_piece,
    apply_discount,
    periods_between,
    price_for_quantity,
    prorate_multiplier,
    spec_from_snapshot,
    spec_to_snapshot,
)
from catalog.pricing.exact import round_fraction_money

ONE_TIME = "one_time"
RECURRING = "recurring"
USAGE = "usage"
HUNDRED = Decimal(100)


class NegativeNetPrice(PricingError):
    """The discount per unit is larger than the list price."""


def line_term_months(*, start: date, end: date) -> Fraction:
    """Months in ``[start, end)``: whole anniversary months plus the day fraction of a broken one."""
    if not start < end:
        raise PricingError(_("The line must end after it starts."))
    return periods_between(start=start, end=end, frequency_months=1, boundary="anniversary")


def quoted_per_unit(spec: PriceSpec) -> bool:
    """Whether the entry's own unit price is the line's (per_unit without free units); otherwise the
    line's unit price is the price of the quantity ÷ the quantity."""
    return spec.model == "per_unit" and not spec.free_units


def unit_price_of(extended: Decimal, quantity: Decimal) -> Decimal:
    """A price for a quantity as a unit price: extended ÷ quantity, half-up to 6 places, exactly."""
    from catalog.pricing import fraction_to_decimal

    return fraction_to_decimal(Fraction(extended) / Fraction(quantity), 6)


@dataclass(frozen=True)
class LinePrice:
    """The numbers of one quote line."""

    basis: str  # "unit": the entry's unit price; "quantity": the price of the quantity ÷ the quantity
    list_unit_price: Decimal
    net_unit_price: Decimal
    term_months: Fraction
    multiplier: Fraction
    line_total: Decimal
    monthly_value: Fraction
    effective_discount: Fraction  # percent, exact
    currency: str
    charge_type: str
    steps: list = field(default_factory=list, compare=False)


def price_line(
    *,
    charge_type: str,
    spec: PriceSpec,
    quantity: Decimal,
    discount_percent: Decimal | None,
    discount_amount: Decimal | None,
    quote_percent: Decimal | None,
    start: date,
    end: date,
    default_term_months: int | None,
    currency: str,
) -> LinePrice:
    """Price one line from its entry's spec; raises PricingError on impossible inputs."""
    quantity = to_decimal(quantity)
    per_unit = quoted_per_unit(spec)
    term = line_term_months(start=start, end=end)
    if charge_type == USAGE:
        rate = spec.unit_price if spec.unit_price is not None else ZERO
        return LinePrice(
            basis="unit", list_unit_price=rate, net_unit_price=rate, term_months=term,
            multiplier=Fraction(1), line_total=ZERO, monthly_value=Fraction(0), effective_discount=Fraction(0),
            currency=currency, charge_type=charge_type,
        )
    if per_unit:
        list_price = round_unit(spec.unit_price)
    else:
        extended = price_for_quantity(spec=spec, quantity=quantity)
        list_price = unit_price_of(extended, quantity)
        if error := unit_price_precision_error(extended=extended, unit_price=list_price, quantity=quantity, currency=currency):
            raise PricingError(error)
    if discount_amount is not None and to_decimal(discount_amount) > list_price:
        raise NegativeNetPrice(
            _("This discount is more than the list price of %(price)s: the net price would be negative.")
            % {"price": format_money(list_price, currency)}
        )
    net = apply_discount(
        list_unit_price=list_price, percent=discount_percent, amount_per_unit=discount_amount,
        quote_percent=quote_percent or None,
    )
    if charge_type == RECURRING:
        multiplier = prorate_multiplier(line_term_months=term, default_term_months=default_term_months)
    else:
        multiplier = Fraction(1)
    total = amount_for_piece(unit_price=net, quantity=quantity, factor=multiplier, currency=currency)
    list_fraction = Fraction(list_price)
    effective = (1 - Fraction(net) / list_fraction) * 100 if list_fraction else Fraction(0)
    monthly = Fraction(total) / term if charge_type == RECURRING else Fraction(0)
    return LinePrice(
        basis="unit" if per_unit else "quantity", list_unit_price=list_price, net_unit_price=net, term_months=term, multiplier=multiplier, line_total=total,
        monthly_value=monthly, effective_discount=effective, currency=currency, charge_type=charge_type,
    )


@dataclass(frozen=True)
class QuoteTotals:
    one_time_total: Decimal
    recurring_total: Decimal
    mrr: Decimal
    arr: Decimal
    total_contract_value: Decimal
    tax_estimate: Decimal

    @property
    def grand_total(self) -> Decimal:
        return self.total_contract_value + self.tax_estimate


@dataclass(frozen=True)
class TotalInput:
    charge_type: str
    line_total: Decimal
    term_months: Fraction
    tax_amount: Decimal


def quote_totals(*, lines: list[TotalInput], currency: str) -> QuoteTotals:
    """Sums of rounded lines; MRR and ARR rounded once from the exact monthly values."""
    one_time = sum_money((x.line_total for x in lines if x.charge_type == ONE_TIME), currency)
    recurring = sum_money((x.line_total for x in lines if x.charge_type == RECURRING), currency)
    monthly = sum(
        (Fraction(x.line_total) / x.term_months for x in lines if x.charge_type == RECURRING), Fraction(0)
    )
    return QuoteTotals(
        one_time_total=one_time,
        recurring_total=recurring,
        mrr=round_fraction_money(monthly, currency),
        arr=round_fraction_money(12 * monthly, currency),
        total_contract_value=sum_money([one_time, recurring], currency),
        tax_estimate=sum_money((x.tax_amount for x in lines), currency),
    )


def percent_display(value: Fraction) -> Decimal:
    """An exact percent shown with 2 decimals (half-up)."""
    from catalog.pricing import fraction_to_decimal

    return fraction_to_decimal(value, 2)


def to_percent_field(value: Fraction) -> Decimal:
    """An exact percent for a 6-place column."""
    from catalog.pricing import fraction_to_decimal

    return fraction_to_decimal(value, 6)

