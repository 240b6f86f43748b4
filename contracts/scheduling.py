"""Billing schedules, computed: pure functions, no database (DESIGN §3, STYLE "Pure computation").

Activation, the amendment preview and the amendment itself all call these functions, so the
amount a contract will bill is the same on every screen and in every invoice.

An entry's amount is ``unit price × quantity × (months per period ÷ price term) × proration``,
rounded once by `catalog.pricing.amount_for_piece`. A full period of a 12-month-priced annual
product is price × quantity; a full month of it is price × quantity × 1/12.

Amendments are co-terminated and change a recurring subscription by deltas (`plan_change`,
Salesforce's amendment model). From the effective day D to the end, each stretch of time is covered
by layers: the charges written so far (the original lines and earlier deltas), less what credits
already took off them. The new quantity is compared with what the layers hold:

1. more units: one charge for the added units only (`+3 × 11/31`), in the period holding D and in
   every later period; the original lines stay as they are;
2. fewer units: removed last in, first out. A billed layer gets a credit for the removed units over
   its billed time after D, never more than is still uncredited on it in money, and exactly the
   remainder when nothing of it is left, so no cent stays behind; a pending layer is cancelled and
   replaced by what is left of it (its part before D is kept as it was);
3. everything written for time already billed (added units and credits) is billed on one date,
   the later of D and the amendment date, so one invoice run bills the amendment's whole effect.

A cancellation is the change to 0. Usage and one-time subscriptions are only cancelled: pending
entries from D are cancelled, one that straddles D is cut there.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from billing_site.money import round_money
from catalog.pricing import Factor, Period, amount_for_piece, billing_periods, proration_factor
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
    # Units added to or removed from what the subscription had (an amendment's delta), not a total.
    delta: bool = False

    @property
    def last_day(self) -> date:
        return self.period_end - timedelta(days=1)

    @property
    def quantity_display(self) -> str:
        """'+3' for units an amendment adds, '−3' for units it credits, else the quantity."""
        text = plain(self.quantity)
        if not self.delta:
            return text
        return f"−{text}" if self.kind == CREDIT else f"+{text}"

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
    """The entries of ``[start, end)`` at `quantity`, only the pieces starting before `until` when it
    is given (evergreen `end` None: `until` is required)."""
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
        boundary=terms.boundary, billing_day=terms.billing_day, limit_until=until,
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

    `entries` are all the subscription's existing entries (any status). Recurring subscriptions
    change by deltas (module docstring); usage and one-time subscriptions are only cancelled.
    """
    if terms.charge_type != RECURRING:
        return _plan_cancel_only(terms=terms, entries=entries, effective=effective)
    plan = Plan()
    bill_date = max(effective, today)
    live = [e for e in entries if e.status != CANCELLED]
    layers = [e for e in live if e.kind == CHARGE and e.period_end > effective]
    credits_of: dict[int, list[Entry]] = {}
    for e in live:
        if e.kind == CREDIT and e.credits is not None:
            credits_of.setdefault(e.credits, []).append(e)
    # (layer id) -> [(start, end, units taken)] for pending layers reduced by this change
    taken: dict[int, list[tuple[date, date, Decimal]]] = {}
    credit_slices: list[tuple[Entry, Decimal, date, date]] = []
    charge_slices: list[tuple[Decimal, date, date, Period, bool]] = []

    periods = billing_periods(
        start=min(terms.anchor, effective), end=end, frequency_months=terms.frequency_months,
        boundary=terms.boundary, billing_day=terms.billing_day, limit_until=until if end is None else None,
    )
    for period in periods:
        a, b = max(period.start, effective), period.end
        if b <= a:
            continue
        here = [e for e in layers if e.period_start < b and e.period_end > a]
        points = {a, b}
        for e in here:
            for c in [e, *credits_of.get(e.id, [])]:
                points.update(x for x in (c.period_start, c.period_end) if a < x < b)
        edges = sorted(points)
        for x, y in zip(edges, edges[1:], strict=False):
            covering = [e for e in here if e.period_start <= x and e.period_end >= y]
            units = {e.id: e.quantity - _credited_units(credits_of.get(e.id, []), x, y) for e in covering}
            delta = new_quantity - sum(units.values(), ZERO)
            if delta > 0:
                billed = any(e.status == BILLED for e in covering)
                charge_slices.append((delta, x, y, period, billed))
                continue
            remove = -delta
            # Last in, first out: a decrease removes the most recent additions first.
            for e in sorted(covering, key=lambda e: e.id or 0, reverse=True):
                if remove <= 0:
                    break
                take = min(units[e.id], remove)
                if take <= 0:
                    continue
                remove -= take
                if e.status == BILLED:
                    credit_slices.append((e, take, x, y))
                else:
                    taken.setdefault(e.id, []).append((x, y, take))

    for quantity, x, y, period, billed, in _merge_charges(charge_slices):
        piece = _piece(terms=terms, quantity=quantity, start=x, end=y, full_start=period.full_start, full_end=period.full_end)
        if not piece.factor.numerator:
            continue
        # Units added to time already billed are billed with the rest of the amendment, on one date.
        plan.charges.append(replace(piece, bill_on=bill_date, delta=True) if billed else replace(piece, delta=True))
    by_id = {e.id: e for e in layers}
    for entry_id, cuts in taken.items():
        _reduce_pending(terms=terms, entry=by_id[entry_id], cuts=cuts, effective=effective, plan=plan)
    plan.credits = _credits(terms=terms, slices=credit_slices, credits_of=credits_of, bill_date=bill_date)
    plan.charges.sort(key=lambda e: (e.period_start, e.period_end))
    plan.credits.sort(key=lambda e: (e.period_start, e.credits or 0))
    return plan


def _credited_units(credits: list[Entry], start: date, end: date) -> Decimal:
    return sum((c.quantity for c in credits if c.period_start <= start and c.period_end >= end), ZERO)


def _merge_charges(slices):
    """Adjacent slices of one period adding the same units become one entry."""
    merged: list[list] = []
    for quantity, x, y, period, billed in slices:
        last = merged[-1] if merged else None
        if last and last[0] == quantity and last[2] == x and last[3] == period and last[4] == billed:
            last[2] = y
        else:
            merged.append([quantity, x, y, period, billed])
    return [tuple(m) for m in merged]


def _plan_cancel_only(*, terms: Terms, entries: list[Entry], effective: date) -> Plan:
    """Usage and one-time subscriptions: pending entries from the date are cancelled (cut if they straddle it)."""
    plan = Plan()
    for e in sorted((e for e in entries if e.status == PENDING and e.kind != CREDIT), key=lambda x: (x.period_start, x.id or 0)):
        if e.period_start >= effective:
            plan.cancelled.append(e)
        elif e.period_end > effective:
            plan.cancelled.append(e)
            piece = _segment(terms=terms, entry=e, start=e.period_start, end=effective, quantity=e.quantity,
                             bill_on=e.bill_on if terms.billing_type == ADVANCE and e.kind != USAGE else effective)
            if piece.factor.numerator or piece.kind == USAGE:
                plan.replacements.append(piece)
    return plan


def _segment(*, terms: Terms, entry: Entry, start: date, end: date, quantity: Decimal, bill_on: date) -> Entry:
    """A part of an existing entry, at `quantity` of its units and its own price."""
    factor = proration_factor(
        piece_start=start, piece_end=end, full_start=entry.full_start, full_end=entry.full_end, day_count=terms.day_count,
    )
    amount = None
    if entry.kind != USAGE:
        amount = amount_for_piece(
            unit_price=entry.unit_price, quantity=quantity,
            factor=Fraction(entry.period_months, entry.price_term_months or 12) * factor.value, currency=terms.currency,
        )
    return replace(entry, id=None, status=PENDING, period_start=start, period_end=end, factor=factor, amount=amount,
                   quantity=quantity, bill_on=bill_on)


def _reduce_pending(*, terms: Terms, entry: Entry, cuts, effective: date, plan: Plan) -> None:
    """A pending entry loses units from some dates: it is cancelled and replaced by what is left of it.

    The part before the effective date is kept as it was; after it, each stretch keeps the units not
    taken. An entry billed in advance keeps its bill date; one billed in arrears on its end is billed
    at the end of what is left of it."""
    plan.cancelled.append(entry)
    edges = sorted({entry.period_start, entry.period_end, *(x for x, _y, _t in cuts), *(y for _x, y, _t in cuts)})
    segments: list[list] = []
    for x, y in zip(edges, edges[1:], strict=False):
        quantity = entry.quantity - sum((t for cx, cy, t in cuts if cx <= x and cy >= y), ZERO)
        if segments and segments[-1][2] == quantity and segments[-1][1] == x:
            segments[-1][1] = y
        else:
            segments.append([x, y, quantity])
    kept = [s for s in segments if s[2] > 0]
    bill_on = entry.bill_on
    if terms.billing_type != ADVANCE and entry.bill_on == entry.period_end and kept:
        bill_on = max(s[1] for s in kept)
    for x, y, quantity in kept:
        piece = _segment(terms=terms, entry=entry, start=x, end=y, quantity=quantity, bill_on=bill_on)
        if not piece.factor.numerator:
            continue
        (plan.replacements if y <= effective else plan.charges).append(piece)


def _credits(*, terms: Terms, slices, credits_of: dict[int, list[Entry]], bill_date: date) -> list[Entry]:
    """Credit entries for units removed from billed charges, never more than what is left uncredited.

    A credit that leaves nothing of its charge uncredited is exactly the charge's remainder, so no
    rounding residue stays behind."""
    merged: list[list] = []
    for charge, take, x, y in slices:
        last = merged[-1] if merged else None
        if last and last[0].id == charge.id and last[1] == take and last[3] == x:
            last[3] = y
        else:
            merged.append([charge, take, x, y])
    planned: dict[int, list[Entry]] = {}
    result = []
    for charge, take, x, y in merged:
        factor = proration_factor(
            piece_start=x, piece_end=y, full_start=charge.full_start, full_end=charge.full_end, day_count=terms.day_count,
        )
        if not factor.numerator:
            continue
        planned.setdefault(charge.id, []).append(Entry(
            kind=CREDIT, period_start=x, period_end=y, full_start=charge.full_start, full_end=charge.full_end,
            bill_on=bill_date, quantity=take, unit_price=charge.unit_price, price_term_months=charge.price_term_months,
            period_months=charge.period_months, factor=factor, amount=None, credits=charge.id, delta=True,
        ))
    for charge_id, credits in planned.items():
        charge = next(c for c, _t, _x, _y in merged if c.id == charge_id)
        existing = credits_of.get(charge_id, [])
        remaining = (charge.amount or ZERO) + sum((c.amount or ZERO for c in existing), ZERO)
        whole = _fully_credited(terms=terms, charge=charge, credits=[*existing, *credits])
        for i, credit in enumerate(credits):
            if remaining <= 0:
                break
            amount = amount_for_piece(
                unit_price=charge.unit_price, quantity=credit.quantity,
                factor=Fraction(charge.period_months, charge.price_term_months or 12) * credit.factor.value,
                currency=terms.currency,
            )
            amount = remaining if whole and i == len(credits) - 1 else min(remaining, amount)
            remaining -= amount
            if amount > 0:
                result.append(replace(credit, amount=-amount))
    return result


def _fully_credited(*, terms: Terms, charge: Entry, credits: list[Entry]) -> bool:
    """Whether no unit of the charge is left uncredited on any day it counts."""
    edges = sorted({charge.period_start, charge.period_end,
                    *(x for c in credits for x in (c.period_start, c.period_end) if charge.period_start < x < charge.period_end)})
    for x, y in zip(edges, edges[1:], strict=False):
        if _credited_units(credits, x, y) >= charge.quantity:
            continue
        factor = proration_factor(piece_start=x, piece_end=y, full_start=charge.full_start, full_end=charge.full_end,
                                  day_count=terms.day_count)
        if factor.numerator:
            return False
    return True


def plain(value: Decimal) -> str:
    """A quantity or price without trailing zeros nor exponent: 10, 1200, 0.05."""
    return format(value.normalize(), "f")


def explain(entry: Entry, currency: str) -> str:
    """How the amount was computed, e.g. '75 × 1200.00 × 12/12 × 45/366 = 11065.57'."""
    if entry.kind == USAGE and entry.amount is None:
        return "usage: rated at the end of the period"
    quantity = plain(entry.quantity)
    price = plain(entry.unit_price)
    sign = "−" if entry.kind == CREDIT else ("+" if entry.delta else "")
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
