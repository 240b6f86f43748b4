"""Billing schedules, computed: pure functions, no database (DESIGN §3, STYLE "Pure computation").

Activation, the amendment preview and the amendment itself all call these functions, so the
amount a contract will bill is the same on every screen and in every invoice.

An entry's amount is ``unit price × quantity × (months per period ÷ price term) × proration``,
rounded once by `catalog.pricing.amount_for_piece`. A full period of a 12-month-priced annual
product is price × quantity; a full month of it is price × quantity × 1/12.

Amendments are co-terminated (`plan_change`): a change effective on day D

1. cancels every pending entry starting on or after D, and replaces a pending entry that straddles
   D by its part before D (same full period, recomputed factor);
2. credits every billed charge for its time after D that no earlier credit covers yet. Credits of a
   charge always cover a suffix of it, so the uncredited part after D is
   ``[max(start, D), earliest credit start)``; the credit never exceeds what is left uncredited in
   money, and when it covers the whole remainder it is exactly the remainder, so no cent is left;
3. schedules the new quantity from D to the end, on the same period grid (first piece prorated).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from billing_site.money import round_money
from catalog.pricing import Factor, amount_for_piece, billing_periods, proration_factor
from catalog.pricing.exact import format_fraction

ZERO = Decimal("0")

CHARGE = "charge"
CREDIT = "credit"
ONE_TIME = "one_time"
USAGE = "usage"
PENDING = "pending"
BILLED = "billed"
CANCELLED = "cancelled"
RECURRING = "recurring"
ADVANCE = "advance"


@dataclass(frozen=True)
class Terms:
    """What the schedule needs to know about a subscription (a snapshot of its billing terms)."""

    charge_type: str
    unit_price: Decimal
    price_term_months: int
    frequency_months: int
    billing_type: str
    boundary: str
    day_count: str
    currency: str
    anchor: date
    billing_day: int = 1

    def period_share(self) -> Fraction:
        """The share of the unit price one full billing period is worth."""
        return Fraction(self.frequency_months, self.price_term_months or 12)


@dataclass(frozen=True)
class Entry:
    """A schedule entry as the planner sees it: an existing row (with `id`) or a planned one."""

    kind: str
    period_start: date
    period_end: date
    full_start: date
    full_end: date
    bill_on: date
    quantity: Decimal
    unit_price: Decimal
    price_term_months: int
    period_months: int
    factor: Factor
    amount: Decimal | None
    status: str = PENDING
    id: int | None = None
    credits: int | None = None
    note: str = field(default="", compare=False)

    @property
    def last_day(self) -> date:
        return self.period_end - timedelta(days=1)

    @property
    def rate(self) -> Fraction:
        """Months per period ÷ price term × proration: what one unit at the unit price is multiplied by."""
        return Fraction(self.period_months, self.price_term_months or 12) * self.factor.value


@dataclass
class Plan:
    """What an amendment does to one subscription's schedule (nothing written yet)."""

    cancelled: list[Entry] = field(default_factory=list)
    replacements: list[Entry] = field(default_factory=list)
    credits: list[Entry] = field(default_factory=list)
    charges: list[Entry] = field(default_factory=list)

    @property
    def new_entries(self) -> list[Entry]:
        return [*self.replacements, *self.credits, *self.charges]

    @property
    def cancelled_amount(self) -> Decimal:
        return sum((e.amount or ZERO for e in self.cancelled), ZERO)

    @property
    def net_amount(self) -> Decimal:
        """Change of the total this subscription will bill: new entries minus cancelled pending ones."""
        return sum((e.amount or ZERO for e in self.new_entries), ZERO) - self.cancelled_amount


def piece_amount(*, terms: Terms, quantity: Decimal, factor: Factor) -> Decimal:
    """The rounded amount of one piece of a recurring subscription."""
    return amount_for_piece(
        unit_price=terms.unit_price, quantity=quantity, factor=terms.period_share() * factor.value,
        currency=terms.currency,
    )


def entries_for(
    *, terms: Terms, quantity: Decimal, start: date, end: date | None, until: date | None = None
) -> list[Entry]:
    """The entries of ``[start, end)`` at `quantity` (evergreen `end` None: pieces starting before `until`)."""
    if terms.charge_type == ONE_TIME:
        one = Factor(1, 1)
        amount = amount_for_piece(unit_price=terms.unit_price, quantity=quantity, factor=1, currency=terms.currency)
        next_day = start + timedelta(days=1)
        return [
            Entry(
                kind=ONE_TIME, period_start=start, period_end=next_day, full_start=start, full_end=next_day,
                bill_on=start, quantity=quantity, unit_price=terms.unit_price,
                price_term_months=terms.price_term_months, period_months=0, factor=one, amount=amount,
            )
        ]
    if end is not None and end <= start:
        return []
    # The grid is anchored on the subscription's anchor (the contract's start), so a piece added
    # mid-term follows the same periods as the rest of the contract.
    periods = billing_periods(
        start=min(terms.anchor, start), end=end, frequency_months=terms.frequency_months,
        boundary=terms.boundary, billing_day=terms.billing_day, limit_until=until if end is None else None,
    )
    entries = []
    for period in periods:
        if period.end <= start:
            continue
        piece = _piece(terms=terms, quantity=quantity, start=max(period.start, start), end=period.end,
                       full_start=period.full_start, full_end=period.full_end)
        # Under 30/360 a piece can count 0 days (the 31st counts as the 30th): nothing to bill.
        if piece.factor.numerator:
            entries.append(piece)
    return entries


def _piece(*, terms: Terms, quantity: Decimal, start: date, end: date, full_start: date, full_end: date) -> Entry:
    factor = proration_factor(
        piece_start=start, piece_end=end, full_start=full_start, full_end=full_end, day_count=terms.day_count
    )
    usage = terms.charge_type == USAGE
    return Entry(
        kind=USAGE if usage else CHARGE,
        period_start=start, period_end=end, full_start=full_start, full_end=full_end,
        bill_on=start if (terms.billing_type == ADVANCE and not usage) else end,
        quantity=ZERO if usage else quantity,
        unit_price=terms.unit_price,
        price_term_months=terms.price_term_months,
        period_months=terms.frequency_months,
        factor=factor,
        amount=None if usage else piece_amount(terms=terms, quantity=quantity, factor=factor),
    )


def plan_change(
    *,
    terms: Terms,
    entries: list[Entry],
    effective: date,
    new_quantity: Decimal,
    end: date | None,
    until: date | None,
    today: date,
) -> Plan:
    """What changing a subscription to `new_quantity` from `effective` to `end` does to its schedule.

    `entries` are all the subscription's existing entries (any status). The plan cancels, credits
    and charges as the module docstring says; quantity 0 only cancels and credits.
    """
    plan = Plan()
    live = [e for e in entries if e.status != CANCELLED]
    credits_of: dict[int, list[Entry]] = {}
    for e in live:
        if e.kind == CREDIT and e.credits is not None:
            credits_of.setdefault(e.credits, []).append(e)

    for e in sorted(live, key=lambda x: (x.period_start, x.id or 0)):
        if e.status == PENDING and e.kind != CREDIT:
            if e.period_start >= effective:
                plan.cancelled.append(e)
            elif e.period_end > effective:
                plan.cancelled.append(e)
                piece = _cut(terms=terms, entry=e, end=effective)
                if piece.factor.numerator or piece.kind == USAGE:
                    plan.replacements.append(piece)
        elif e.status == BILLED and e.kind == CHARGE and e.period_end > effective:
            credit = _credit(terms=terms, charge=e, existing=credits_of.get(e.id, []), effective=effective, today=today)
            if credit is not None:
                plan.credits.append(credit)

    if new_quantity > 0:
        plan.charges = entries_for(terms=terms, quantity=new_quantity, start=effective, end=end, until=until)
    return plan


def _cut(*, terms: Terms, entry: Entry, end: date) -> Entry:
    """The part of a pending entry before `end`, at its own quantity and price."""
    factor = proration_factor(
        piece_start=entry.period_start, piece_end=end, full_start=entry.full_start, full_end=entry.full_end,
        day_count=terms.day_count,
    )
    usage = entry.kind == USAGE
    amount = None
    if not usage:
        amount = amount_for_piece(
            unit_price=entry.unit_price, quantity=entry.quantity,
            factor=Fraction(entry.period_months, entry.price_term_months or 12) * factor.value,
            currency=terms.currency,
        )
    advance = terms.billing_type == ADVANCE and not usage
    return replace(
        entry, id=None, status=PENDING, period_end=end, factor=factor, amount=amount,
        bill_on=entry.period_start if advance else end,
    )


def _credit(*, terms: Terms, charge: Entry, existing: list[Entry], effective: date, today: date) -> Entry | None:
    """The credit of a billed charge's uncredited time after `effective`, or None if nothing is left."""
    credited_from = min((c.period_start for c in existing), default=charge.period_end)
    piece_start = max(charge.period_start, effective)
    if piece_start >= credited_from:
        return None
    remaining = (charge.amount or ZERO) + sum((c.amount or ZERO for c in existing), ZERO)
    if remaining <= 0:
        return None
    factor = proration_factor(
        piece_start=piece_start, piece_end=credited_from, full_start=charge.full_start, full_end=charge.full_end,
        day_count=terms.day_count,
    )
    if piece_start == charge.period_start:
        # The whole uncredited remainder: credit exactly what is left, so no rounding residue stays.
        amount = remaining
    elif not factor.numerator:
        return None
    else:
        amount = min(
            remaining,
            amount_for_piece(
                unit_price=charge.unit_price, quantity=charge.quantity,
                factor=Fraction(charge.period_months, charge.price_term_months or 12) * factor.value,
                currency=terms.currency,
            ),
        )
    return Entry(
        kind=CREDIT, period_start=piece_start, period_end=credited_from, full_start=charge.full_start,
        full_end=charge.full_end, bill_on=max(effective, today), quantity=charge.quantity,
        unit_price=charge.unit_price, price_term_months=charge.price_term_months,
        period_months=charge.period_months, factor=factor, amount=-amount, credits=charge.id,
    )


def plain(value: Decimal) -> str:
    """A quantity or price without trailing zeros nor exponent: 10, 1200, 0.05."""
    return format(value.normalize(), "f")


def explain(entry: Entry, currency: str) -> str:
    """How the amount was computed, e.g. '75 × 1200.00 × 12/12 × 45/366 = 11065.57'."""
    if entry.kind == USAGE and entry.amount is None:
        return "usage: rated at the end of the period"
    quantity = plain(entry.quantity)
    price = plain(entry.unit_price)
    sign = "−" if entry.kind == CREDIT else ""
    amount = round_money(entry.amount, currency)
    if entry.kind == ONE_TIME:
        return f"{quantity} × {price} = {amount} {currency}"
    share = f"{entry.period_months}/{entry.price_term_months}"
    return (
        f"{sign}{quantity} × {price} × {share} × {entry.factor.numerator}/{entry.factor.denominator}"
        f" = {amount} {currency}"
    )


def rate_display(entry: Entry) -> str:
    """'1/12 × 12/31 = 0.032258': the share of the unit price an entry bills per unit."""
    return format_fraction(entry.rate)
