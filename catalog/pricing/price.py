"""The price of a quantity under each pricing model (DESIGN §3 "Pricing models"), unrounded.

Tier bounds are unit numbers
----------------------------
A tier ``[lower, upper)`` holds the units numbered from ``lower`` up to, but not including,
``upper`` (``upper`` None: no end). Units are numbered from the first tier's lower bound, which must
be 0 or 1, so the two usual ways of writing a tier table mean the same thing::

    [1, 11)  [11, 51)     units 1..10, then 11..50
    [0, 10)  [10, 50)     units 0..9,  then 10..49     (Stripe's "up to 10", "up to 50")

In both the first tier is "the first 10 units". A quantity q fills the first q units, i.e. the
stretch ``[first, first + q)`` of unit numbers (continuous, so fractions count), which puts a tier
on the quantity axis as the band ``(lower - first, upper - first]``:

- ``tiered`` (graduated): units in a tier = ``max(0, min(q, upper - first) - (lower - first))``;
  a tier is "reached" (its flat fee is charged) when it holds some of the quantity;
- ``volume`` and ``block``: the tier "that holds the quantity" is the one holding its last unit,
  ``lower - first < q <= upper - first``. With tiers starting at 1 and whole quantities this is
  exactly ``lower <= q < upper``: blocks [1, 11) and [11, 51) put 7 in the first and 11 in the
  second block; with tiers starting at 0 it is Stripe's inclusive "up to".

A quantity above the last closed tier raises `PricingError`.

Model fields
------------
- ``flat``: ``unit_price`` is the price, whatever the (positive) quantity.
- ``per_unit``: ``unit_price`` × (quantity − free units).
- ``tiered``: Σ units in tier × tier ``unit_price`` + ``flat_fee`` of every tier reached.
- ``volume``: quantity × ``unit_price`` of the tier holding it + that tier's ``flat_fee``.
- ``block``: the tier's ``unit_price`` *is the block price* (the whole block, not per unit);
  ``flat_fee`` must stay 0 so a block has a single price field.
- ``package``: ``unit_price`` per started package of ``package_size`` units, after free units.

Free units apply to ``per_unit`` and ``package`` only; tier models express free units as a tier
priced 0. A quantity of 0 or less costs 0 under every model, ``flat`` included: a line or a usage
period with nothing bought or used bills nothing (a fee that is due regardless of quantity is a
quantity-1 line).
"""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from django.utils.translation import gettext as _

from billing_site.money import to_decimal

from .exact import ZERO, PricingError, exact_context


class PriceModel(StrEnum):
    FLAT = "flat"
    PER_UNIT = "per_unit"
    TIERED = "tiered"
    VOLUME = "volume"
    BLOCK = "block"
    PACKAGE = "package"


TIER_MODELS = frozenset({PriceModel.TIERED, PriceModel.VOLUME, PriceModel.BLOCK})
FREE_UNIT_MODELS = frozenset({PriceModel.PER_UNIT, PriceModel.PACKAGE})
FIRST_BOUNDS = (Decimal(0), Decimal(1))


@dataclass(frozen=True)
class Tier:
    """One tier: units numbered ``lower`` (inclusive) to ``upper`` (exclusive; None = no end)."""

    lower: Decimal
    upper: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal = ZERO

    def __post_init__(self):
        object.__setattr__(self, "lower", to_decimal(self.lower))
        object.__setattr__(self, "upper", None if self.upper is None else to_decimal(self.upper))
        object.__setattr__(self, "unit_price", to_decimal(self.unit_price))
        object.__setattr__(self, "flat_fee", to_decimal(self.flat_fee))


@dataclass(frozen=True)
class PriceSpec:
    """What a price book entry says about price; see the module docstring for each model."""

    model: str
    unit_price: Decimal | None = None
    tiers: tuple[Tier, ...] = ()
    package_size: Decimal | None = None
    free_units: Decimal = ZERO

    def __post_init__(self):
        object.__setattr__(
            self, "unit_price", None if self.unit_price is None else to_decimal(self.unit_price)
        )
        object.__setattr__(self, "tiers", tuple(self.tiers))
        object.__setattr__(
            self, "package_size", None if self.package_size is None else to_decimal(self.package_size)
        )
        object.__setattr__(self, "free_units", to_decimal(self.free_units))


def validate_tiers(tiers) -> list[str]:
    """Human messages for everything wrong with a tier table, in table order; [] when it is valid."""
    tiers = tuple(tiers)
    if not tiers:
        return [_("Add at least one tier.")]
    messages = []
    if tiers[0].lower not in FIRST_BOUNDS:
        messages.append(_("The first tier must start at 0 or 1."))
    last = len(tiers) - 1
    for index, tier in enumerate(tiers):
        number = index + 1
        if tier.unit_price < 0 or tier.flat_fee < 0:
            messages.append(_("Tier %(number)s: prices must not be negative.") % {"number": number})
        if tier.upper is not None and tier.upper <= tier.lower:
            messages.append(
                _("Tier %(number)s: the upper bound must be greater than the lower bound.")
                % {"number": number}
            )
        if index == last:
            continue
        following = tiers[index + 1]
        if tier.upper is None:
            messages.append(
                _("Tier %(number)s: only the last tier can have an open upper bound.") % {"number": number}
            )
        elif following.lower <= tier.lower:
            messages.append(
                _("Tiers must be in ascending order: tier %(next)s does not start above tier %(number)s.")
                % {"number": number, "next": number + 1}
            )
        elif following.lower > tier.upper:
            messages.append(
                _("Gap between tier %(number)s (up to %(upper)s) and tier %(next)s (from %(lower)s).")
                % {"number": number, "upper": tier.upper, "next": number + 1, "lower": following.lower}
            )
        elif following.lower < tier.upper:
            messages.append(
                _("Tier %(number)s (up to %(upper)s) overlaps tier %(next)s (from %(lower)s).")
                % {"number": number, "upper": tier.upper, "next": number + 1, "lower": following.lower}
            )
    return messages


def validate_price_spec(spec: PriceSpec) -> list[str]:
    """Human messages for everything wrong with a price spec; [] when it can price any quantity."""
    try:
        model = PriceModel(spec.model)
    except ValueError:
        return [_("Unknown pricing model “%(model)s”.") % {"model": spec.model}]
    messages = []
    if model in TIER_MODELS:
        messages += validate_tiers(spec.tiers)
        if model is PriceModel.BLOCK and any(tier.flat_fee for tier in spec.tiers):
            messages.append(
                _("Block prices use the tier's unit price as the block price; leave flat fees at 0.")
            )
    else:
        if spec.tiers:
            messages.append(_("Only tiered, volume and block prices have tiers."))
        if spec.unit_price is None:
            messages.append(_("A unit price is required."))
        elif spec.unit_price < 0:
            messages.append(_("The unit price must not be negative."))
    if model is PriceModel.PACKAGE and (spec.package_size is None or spec.package_size <= 0):
        messages.append(_("The package size must be greater than 0."))
    if spec.free_units < 0:
        messages.append(_("Free units must not be negative."))
    elif spec.free_units and model not in FREE_UNIT_MODELS:
        messages.append(_("Free units apply to per-unit and package prices only; use a tier priced 0."))
    return messages


def price_for_quantity(*, spec: PriceSpec, quantity: Decimal) -> Decimal:
    """The exact, unrounded extended price of `quantity` under `spec` (rounding is the line's job)."""
    messages = validate_price_spec(spec)
    if messages:
        raise PricingError(" ".join(messages), fields={"price": messages})
    quantity = to_decimal(quantity)
    if quantity <= 0:
        return ZERO
    model = PriceModel(spec.model)
    with exact_context():
        if model in (PriceModel.FLAT, PriceModel.PER_UNIT, PriceModel.PACKAGE):
            # validate_price_spec refused these models without a unit price (and a package size).
            assert spec.unit_price is not None
            unit_price = spec.unit_price
        if model is PriceModel.FLAT:
            return unit_price
        if model is PriceModel.PER_UNIT:
            return max(quantity - spec.free_units, ZERO) * unit_price
        if model is PriceModel.PACKAGE:
            assert spec.package_size is not None
            billable = max(quantity - spec.free_units, ZERO)
            packages, rest = divmod(billable, spec.package_size)
            return (packages + (1 if rest else 0)) * unit_price
        bands = _bands(spec.tiers, quantity)
        if model is PriceModel.TIERED:
            total = ZERO
            for low, high, tier in bands:
                if quantity > low:
                    total += (min(quantity, high) - low) * tier.unit_price + tier.flat_fee
            return total
        low, high, tier = next(band for band in bands if band[0] < quantity <= band[1])
        if model is PriceModel.VOLUME:
            return quantity * tier.unit_price + tier.flat_fee
        return tier.unit_price  # block: the price of the whole block


def _bands(tiers: tuple[Tier, ...], quantity: Decimal) -> list[tuple[Decimal, Decimal, Tier]]:
    """Each tier as its quantity band (low, high]; refuse a quantity above the last closed tier."""
    first = tiers[0].lower
    last = tiers[-1]
    if last.upper is not None and quantity > last.upper - first:
        raise PricingError(
            _("Quantity %(quantity)s is above the last tier, which ends at %(limit)s units.")
            % {"quantity": quantity, "limit": last.upper - first}
        )
    return [
        (tier.lower - first, quantity if tier.upper is None else tier.upper - first, tier) for tier in tiers
    ]


def spec_to_snapshot(spec: PriceSpec) -> dict:
    """The entry as quoted, as JSON (strings for every decimal)."""

    def s(value):
        return None if value is None else str(value)

    return {
        "model": spec.model,
        "unit_price": s(spec.unit_price),
        "tiers": [
            {"lower": s(t.lower), "upper": s(t.upper), "unit_price": s(t.unit_price), "flat_fee": s(t.flat_fee)}
            for t in spec.tiers
        ],
        "package_size": s(spec.package_size),
        "free_units": s(spec.free_units),
    }


def spec_from_snapshot(snapshot: dict) -> PriceSpec:
    """Read back what `spec_to_snapshot` wrote (quotes, orders and subscriptions keep it)."""
    def d(value):
        return None if value in (None, "") else Decimal(value)

    return PriceSpec(
        model=snapshot["model"],
        unit_price=d(snapshot.get("unit_price")),
        tiers=tuple(
            Tier(d(t["lower"]), d(t.get("upper")), d(t["unit_price"]), d(t.get("flat_fee")) or ZERO)
            for t in snapshot.get("tiers", [])
        ),
        package_size=d(snapshot.get("package_size")),
        free_units=d(snapshot.get("free_units")) or ZERO,
    )
