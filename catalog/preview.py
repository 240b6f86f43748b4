"""The price preview: what a product costs for a quantity and a service range, and why.

One function, `pricing_preview`, feeds the product page and `POST /api/v1/pricing/preview`, so both
show the same breakdown. It only reads and computes, through the pricing engine:

- the *rating*: how the price of the quantity is made under the entry's model (tier by tier);
- one-time products: that price, once, on the start date;
- recurring products: the price is for the product's default term, so each billing period costs
  price × (months per period ÷ term months) (DESIGN §3 "Quote pricing"), prorated by the billing
  rule's day count for pieces shorter than a period; each line is rounded once;
- usage products: the rated price of the quantity used in each period, billed in arrears, never
  prorated (usage is rated on the period's total quantity).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import gettext as _

from billing_site.errors import DomainError, ValidationFailed
from billing_site.money import format_money, round_money, sum_money
from catalog.models import BillingRule, PriceBookEntry, Product
from catalog.numbers import plain
from catalog.pricing import (
    Factor,
    PricingError,
    billing_periods,
    format_fraction,
    fraction_to_decimal,
    price_for_quantity,
    service_amount,
    validate_price_spec,
)
from catalog.pricing.exact import exact_context

MAX_LINES = 240  # twenty years of monthly periods: a preview, not a schedule generator
ZERO = Decimal("0")


@dataclass(frozen=True)
class RatingStep:
    """One step of rating the quantity: `units` at `unit_price`, plus `flat_fee`, make `amount` (exact)."""

    label: str
    units: Decimal | None
    unit_price: Decimal | None
    flat_fee: Decimal
    amount: Decimal


@dataclass(frozen=True)
class PreviewLine:
    """One billed piece: served ``[start, end)``, inside the full period, its factor and rounded amount."""

    start: date
    end: date | None
    full_start: date | None
    full_end: date | None
    factor: Factor | None
    bill_on: date
    amount: Decimal

    @property
    def last_day(self) -> date | None:
        return self.end - timedelta(days=1) if self.end else None

    @property
    def is_full(self) -> bool:
        return self.factor is None or self.factor.numerator == self.factor.denominator


@dataclass(frozen=True)
class Preview:
    entry: PriceBookEntry
    quantity: Decimal
    start: date
    end: date | None
    billing_day: int | None
    boundary: str
    day_count: str
    rating: tuple[RatingStep, ...]
    extended_price: Decimal
    period_multiplier: Fraction | None
    lines: tuple[PreviewLine, ...]
    periods: Fraction | None
    total_amount: Decimal
    quote_amount: Decimal
    notes: tuple[str, ...] = field(default=())

    @property
    def product(self) -> Product:
        return self.entry.product

    @property
    def currency(self) -> str:
        return self.entry.price_book.currency

    @property
    def period_price(self) -> Decimal | None:
        """The price of one full billing period, for display (6 places; lines are exact until rounded)."""
        if self.period_multiplier is None:
            return None
        return fraction_to_decimal(Fraction(self.extended_price) * self.period_multiplier)

    @property
    def period_multiplier_display(self) -> str:
        return format_fraction(self.period_multiplier) if self.period_multiplier is not None else ""

    @property
    def periods_display(self) -> str:
        """'70/31 = 2.258065', or just '12' for whole periods."""
        if self.periods is None:
            return ""
        return str(self.periods.numerator) if self.periods.denominator == 1 else format_fraction(self.periods)

    @property
    def last_day(self) -> date | None:
        return self.end - timedelta(days=1) if self.end else None

    def as_dict(self) -> dict:
        """The JSON form of the breakdown (the API's response body)."""
        product, book = self.entry.product, self.entry.price_book

        def text(value):
            return None if value is None else str(value)

        return {
            "product": {"id": product.pk, "sku": product.sku, "name": product.name},
            "price_book": {"id": book.pk, "name": book.name},
            "currency": self.currency,
            "charge_type": product.charge_type,
            "billing_type": product.billing_type,
            "pricing_model": self.entry.pricing_model,
            "billing_frequency_months": product.billing_frequency if product.charge_type != "one_time" else None,
            "term_months": product.term_months if product.charge_type == "recurring" else None,
            "period_boundary": self.boundary,
            "day_count": self.day_count,
            "billing_day": self.billing_day,
            "quantity": str(self.quantity),
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "rating": [
                {
                    "label": step.label, "units": text(step.units), "unit_price": text(step.unit_price),
                    "flat_fee": str(step.flat_fee), "amount": str(step.amount),
                }
                for step in self.rating
            ],
            "extended_price": str(self.extended_price),
            "period_multiplier": self.period_multiplier_display or None,
            "period_price": text(self.period_price),
            "lines": [
                {
                    "start": line.start.isoformat(),
                    "end": line.end.isoformat() if line.end else None,
                    "last_day": line.last_day.isoformat() if line.last_day else None,
                    "full_start": line.full_start.isoformat() if line.full_start else None,
                    "full_end": line.full_end.isoformat() if line.full_end else None,
                    "factor": str(line.factor) if line.factor else None,
                    "bill_on": line.bill_on.isoformat(),
                    "amount": str(line.amount),
                }
                for line in self.lines
            ],
            "periods": self.periods_display or None,
            "total_amount": str(self.total_amount),
            "quote_amount": str(self.quote_amount),
            "notes": list(self.notes),
        }


def _number(value: Decimal) -> str:
    value = value.normalize()
    return f"{value:f}"


def _tier_label(number: int, low: Decimal, high: Decimal | None) -> str:
    """'Tier 2 (11–50)': the quantities the tier holds, whether the table starts at 0 or at 1."""
    whole = low == low.to_integral() and (high is None or high == high.to_integral())
    if high is None:
        band = f"{_number(low + 1)}+" if whole else f"> {_number(low)}"
    else:
        band = f"{_number(low + 1)}–{_number(high)}" if whole else f"> {_number(low)} – {_number(high)}"
    return _("Tier %(number)s (%(range)s)") % {"number": number, "range": band}


def rating_steps(*, entry: PriceBookEntry, quantity: Decimal, tiers=None) -> list[RatingStep]:
    """How `price_for_quantity` reaches its number, step by step (the steps add up to it exactly)."""
    spec = entry.price_spec(tiers)
    model = spec.model
    steps: list[RatingStep] = []
    with exact_context():
        if model == "flat":
            steps.append(RatingStep(_("Flat price"), None, spec.unit_price, ZERO, spec.unit_price))
        elif model in ("per_unit", "package"):
            free = min(spec.free_units, quantity)
            if free:
                steps.append(RatingStep(_("Free units"), free, ZERO, ZERO, ZERO))
            billable = max(quantity - spec.free_units, ZERO)
            if model == "per_unit":
                steps.append(RatingStep(_("Units"), billable, spec.unit_price, ZERO, billable * spec.unit_price))
            else:
                packages, rest = divmod(billable, spec.package_size)
                packages += 1 if rest else 0
                steps.append(
                    RatingStep(
                        _("Started packages of %(size)s") % {"size": _number(spec.package_size)},
                        packages, spec.unit_price, ZERO, packages * spec.unit_price,
                    )
                )
        else:
            first = spec.tiers[0].lower
            for number, tier in enumerate(spec.tiers, start=1):
                low = tier.lower - first
                high = None if tier.upper is None else tier.upper - first
                label = _tier_label(number, low, high)
                if model == "tiered":
                    if quantity <= low:
                        break
                    units = (quantity if high is None else min(quantity, high)) - low
                    steps.append(RatingStep(label, units, tier.unit_price, tier.flat_fee, units * tier.unit_price + tier.flat_fee))
                elif low < quantity and (high is None or quantity <= high):
                    if model == "volume":
                        steps.append(
                            RatingStep(label, quantity, tier.unit_price, tier.flat_fee, quantity * tier.unit_price + tier.flat_fee)
                        )
                    else:
                        steps.append(RatingStep(label + " " + _("(block price)"), None, tier.unit_price, ZERO, tier.unit_price))
                    break
    return steps


def _fail(field_name: str, message) -> ValidationFailed:
    return ValidationFailed(fields={field_name: [str(message)]})


def pricing_preview(
    *,
    entry: PriceBookEntry,
    quantity: Decimal,
    start: date,
    end: date | None = None,
    billing_day: int | None = None,
) -> Preview:
    """The breakdown of `quantity` of the entry's product from `start` to `end` (exclusive)."""
    product = entry.product
    tiers = list(entry.tiers.all())
    if quantity is None or quantity <= 0:
        raise _fail("quantity", _("Enter a quantity greater than 0."))
    if quantity != quantity.quantize(Decimal("0.000001")):
        raise _fail("quantity", _("Use at most 6 decimal places."))
    quantity = plain(quantity)
    problems = validate_price_spec(entry.price_spec(tiers))
    if problems:
        raise _fail("price_book", _("This price cannot be used yet: %(problems)s") % {"problems": " ".join(problems)})
    one_time = product.charge_type == Product.ChargeType.ONE_TIME
    if not one_time:
        if end is None:
            raise _fail("end", _("Enter the end of the service (the first day not served)."))
        if end <= start:
            raise _fail("end", _("The end must be after the start."))

    rule = product.billing_rule
    boundary = rule.period_boundary if rule else BillingRule.Boundary.ANNIVERSARY
    day_count = rule.day_count if rule else BillingRule.DayCount.ACTUAL_DAYS
    notes = []
    if rule is None and not one_time:
        notes.append(_("No billing rule yet: previewed with anniversary periods and actual days."))
    if boundary == BillingRule.Boundary.BILLING_DAY:
        if billing_day is None:
            raise _fail("billing_day", _("This billing rule bills on the account's billing day: enter it (1–31)."))
        if not 1 <= billing_day <= 31:
            raise _fail("billing_day", _("A billing day of month between 1 and 31 is required."))
    else:
        billing_day = None

    try:
        extended = price_for_quantity(spec=entry.price_spec(tiers), quantity=quantity)
    except PricingError as exc:
        raise _fail("quantity", exc.message) from exc
    rating = tuple(rating_steps(entry=entry, quantity=quantity, tiers=tiers))
    currency = entry.price_book.currency
    months = product.billing_frequency

    if one_time:
        amount = round_money(extended, currency)
        line = PreviewLine(start, None, None, None, None, start, amount)
        return Preview(
            entry, quantity, start, None, billing_day, boundary, day_count, rating, extended, None,
            (line,), None, amount, amount, tuple(notes),
        )

    try:
        periods = billing_periods(
            start=start, end=end, frequency_months=months, boundary=boundary, billing_day=billing_day
        )
    except DomainError as exc:
        raise _fail("end", exc.message) from exc
    if len(periods) > MAX_LINES:
        raise _fail("end", _("A preview shows at most %(count)s billing periods; choose an earlier end.") % {"count": MAX_LINES})

    arrears = product.billing_type == Product.BillingType.ARREARS
    if product.charge_type == Product.ChargeType.USAGE:
        notes.append(_("Usage is rated on each period's total quantity and billed in arrears; it is never prorated."))
        amount = round_money(extended, currency)
        lines = tuple(PreviewLine(p.start, p.end, p.full_start, p.full_end, None, p.end, amount) for p in periods)
        total = sum_money((line.amount for line in lines), currency)
        return Preview(
            entry, quantity, start, end, billing_day, boundary, day_count, rating, extended, None,
            lines, Fraction(len(lines)), total, total, tuple(notes),
        )

    # Recurring: the price is for the product's default term; a period costs its share of it.
    multiplier = Fraction(months, product.term_months)
    try:
        breakdown = service_amount(
            unit_price=extended, quantity=multiplier, start=start, end=end, frequency_months=months,
            boundary=boundary, billing_day=billing_day, day_count=day_count, currency=currency,
        )
    except DomainError as exc:
        raise _fail("end", exc.message) from exc
    lines = tuple(
        PreviewLine(
            piece.period.start, piece.period.end, piece.period.full_start, piece.period.full_end, piece.factor,
            piece.period.end if arrears else piece.period.start, piece.amount,
        )
        for piece in breakdown.pieces
    )
    if breakdown.total_amount != breakdown.pieces_amount:
        notes.append(
            _("Billed period by period the lines add up to %(lines)s; quoted as one line the range is %(quote)s (rounding).")
            % {"lines": format_money(breakdown.pieces_amount, currency), "quote": format_money(breakdown.total_amount, currency)}
        )
    return Preview(
        entry, quantity, start, end, billing_day, boundary, day_count, rating, extended, multiplier,
        lines, breakdown.periods, breakdown.pieces_amount, breakdown.total_amount, tuple(notes),
    )
