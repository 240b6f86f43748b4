"""Table tests of the pricing engine: exact amounts, exact periods, exact factors (DESIGN §3)."""

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from billing_site.errors import DomainError
from catalog.pricing import (
    FREQUENCY_MONTHS,
    Factor,
    Frequency,
    Period,
    PriceSpec,
    PricingError,
    Tier,
    amount_for_piece,
    apply_discount,
    billing_periods,
    format_fraction,
    periods_between,
    price_for_quantity,
    prorate_multiplier,
    proration_factor,
    service_amount,
    tax_for_line,
    validate_price_spec,
    validate_tiers,
)

D = Decimal


def d(text: str) -> date:
    return date.fromisoformat(text)


def tiers(*rows) -> tuple[Tier, ...]:
    """rows of (lower, upper or None, unit_price[, flat_fee]) as strings."""
    return tuple(
        Tier(D(row[0]), None if row[1] is None else D(row[1]), *(D(v) for v in row[2:])) for row in rows
    )


def periods(*rows) -> list[Period]:
    """rows of (start, end) or (start, end, full_start, full_end); a 2-tuple is a full period."""
    return [Period(*(d(v) for v in (row if len(row) == 4 else row * 2))) for row in rows]


GRADUATED_FROM_1 = tiers(("1", "11", "1.00"), ("11", "51", "0.80", "5.00"), ("51", None, "0.50"))
GRADUATED_FROM_0 = tiers(("0", "10", "1.00"), ("10", "50", "0.80", "5.00"), ("50", None, "0.50"))
BLOCKS_FROM_1 = tiers(("1", "11", "1.00"), ("11", "51", "3.00"))
BLOCKS_FROM_0 = tiers(("0", "10", "1.00"), ("10", "50", "3.00"))


# --- pricing models --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "quantity", "expected"),
    [
        # flat: one price whatever the positive quantity; nothing for nothing
        (PriceSpec("flat", D("49.90")), "1", "49.90"),
        (PriceSpec("flat", D("49.90")), "7", "49.90"),
        (PriceSpec("flat", D("49.90")), "0", "0"),
        (PriceSpec("flat", D("49.90")), "-1", "0"),
        # per unit, with and without free units
        (PriceSpec("per_unit", D("2.50")), "4", "10.00"),
        (PriceSpec("per_unit", D("2.50")), "2.5", "6.250"),
        (PriceSpec("per_unit", D("0.333333")), "7", "2.333331"),
        (PriceSpec("per_unit", D("2.50"), free_units=D("3")), "10", "17.50"),
        (PriceSpec("per_unit", D("2.50"), free_units=D("3")), "2", "0"),
        # tiered (graduated), bands written from 1 and from 0 mean the same units
        (PriceSpec("tiered", tiers=GRADUATED_FROM_1), "10", "10.00"),
        (PriceSpec("tiered", tiers=GRADUATED_FROM_1), "10.5", "15.400"),
        (PriceSpec("tiered", tiers=GRADUATED_FROM_1), "11", "15.80"),
        (PriceSpec("tiered", tiers=GRADUATED_FROM_1), "50", "47.00"),
        (PriceSpec("tiered", tiers=GRADUATED_FROM_1), "51", "47.50"),
        (PriceSpec("tiered", tiers=GRADUATED_FROM_1), "100", "72.00"),
        (PriceSpec("tiered", tiers=GRADUATED_FROM_0), "10", "10.00"),
        (PriceSpec("tiered", tiers=GRADUATED_FROM_0), "11", "15.80"),
        (PriceSpec("tiered", tiers=GRADUATED_FROM_0), "100", "72.00"),
        (PriceSpec("tiered", tiers=GRADUATED_FROM_0), "0", "0"),
        # volume: every unit at the tier that holds the quantity, plus its flat fee
        (PriceSpec("volume", tiers=GRADUATED_FROM_1), "10", "10.00"),
        (PriceSpec("volume", tiers=GRADUATED_FROM_1), "11", "13.80"),
        (PriceSpec("volume", tiers=GRADUATED_FROM_1), "50", "45.00"),
        (PriceSpec("volume", tiers=GRADUATED_FROM_1), "51", "25.50"),
        (PriceSpec("volume", tiers=GRADUATED_FROM_1), "100", "50.00"),
        (PriceSpec("volume", tiers=GRADUATED_FROM_0), "10", "10.00"),
        (PriceSpec("volume", tiers=GRADUATED_FROM_0), "11", "13.80"),
        # block: the published case, the tier's unit price is the block price
        (PriceSpec("block", tiers=BLOCKS_FROM_1), "7", "1.00"),
        (PriceSpec("block", tiers=BLOCKS_FROM_1), "10", "1.00"),
        (PriceSpec("block", tiers=BLOCKS_FROM_1), "11", "3.00"),
        (PriceSpec("block", tiers=BLOCKS_FROM_1), "50", "3.00"),
        (PriceSpec("block", tiers=BLOCKS_FROM_0), "10", "1.00"),
        (PriceSpec("block", tiers=BLOCKS_FROM_0), "11", "3.00"),
        (PriceSpec("block", tiers=BLOCKS_FROM_1), "0", "0"),
        # package: per started package, after free units
        (PriceSpec("package", D("5.00"), package_size=D("10")), "1", "5.00"),
        (PriceSpec("package", D("5.00"), package_size=D("10")), "10", "5.00"),
        (PriceSpec("package", D("5.00"), package_size=D("10")), "11", "10.00"),
        (PriceSpec("package", D("5.00"), package_size=D("10"), free_units=D("5")), "5", "0"),
        (PriceSpec("package", D("5.00"), package_size=D("10"), free_units=D("5")), "15", "5.00"),
        (PriceSpec("package", D("5.00"), package_size=D("10"), free_units=D("5")), "16", "10.00"),
    ],
)
def test_price_for_quantity_is_exact_and_unrounded(spec, quantity, expected):
    result = price_for_quantity(spec=spec, quantity=D(quantity))
    assert result == D(expected)


@pytest.mark.parametrize(
    ("spec", "quantity", "currency", "expected"),
    [
        (PriceSpec("per_unit", D("0.333333")), "7", "EUR", "2.33"),
        (PriceSpec("per_unit", D("0.125")), "1", "EUR", "0.13"),
        (PriceSpec("tiered", tiers=GRADUATED_FROM_1), "10.5", "EUR", "15.40"),
        (PriceSpec("volume", tiers=GRADUATED_FROM_1), "11", "EUR", "13.80"),
        (PriceSpec("per_unit", D("12.5")), "3", "JPY", "38"),
        (PriceSpec("tiered", tiers=tiers(("1", "101", "10"), ("101", None, "7.5"))), "151", "JPY", "1383"),
        (PriceSpec("per_unit", D("1.2345")), "3", "KWD", "3.704"),
        (
            PriceSpec("volume", tiers=tiers(("0", "100", "0.2505"), ("100", None, "0.1995"))),
            "3",
            "KWD",
            "0.752",
        ),
        (
            PriceSpec("volume", tiers=tiers(("0", "100", "0.2505"), ("100", None, "0.1995"))),
            "101",
            "KWD",
            "20.150",
        ),
    ],
)
def test_line_amount_of_a_price_is_rounded_once_to_the_currency(spec, quantity, currency, expected):
    extended = price_for_quantity(spec=spec, quantity=D(quantity))
    amount = amount_for_piece(unit_price=extended, quantity=D(1), factor=1, currency=currency)
    assert str(amount) == expected


@pytest.mark.parametrize(
    "spec", [PriceSpec("tiered", tiers=BLOCKS_FROM_1), PriceSpec("block", tiers=BLOCKS_FROM_1)]
)
def test_quantity_above_the_last_closed_tier_is_refused(spec):
    assert price_for_quantity(spec=spec, quantity=D("50")) > 0
    with pytest.raises(PricingError, match="above the last tier, which ends at 50 units"):
        price_for_quantity(spec=spec, quantity=D("50.5"))


def test_pricing_error_is_a_domain_error():
    assert issubclass(PricingError, DomainError)
    assert PricingError().code == "pricing_error"


def test_floats_are_refused():
    with pytest.raises(TypeError):
        price_for_quantity(spec=PriceSpec("per_unit", D("1.00")), quantity=1.5)
    with pytest.raises(TypeError):
        Tier(1.0, None, D("1.00"))


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ((("1", "11", "1.00"), ("11", "51", "0.80"), ("51", None, "0.50")), []),
        ((("0", "10", "1.00"), ("10", None, "0.80")), []),
        ((), ["Add at least one tier."]),
        ((("2", "11", "1.00"),), ["The first tier must start at 0 or 1."]),
        (
            (("1", "11", "1.00"), ("12", "51", "0.80")),
            ["Gap between tier 1 (up to 11) and tier 2 (from 12)."],
        ),
        ((("1", "11", "1.00"), ("10", "51", "0.80")), ["Tier 1 (up to 11) overlaps tier 2 (from 10)."]),
        (
            (("1", "11", "1.00"), ("11", "21", "0.80"), ("5", "30", "0.50")),
            ["Tiers must be in ascending order: tier 3 does not start above tier 2."],
        ),
        ((("1", "1", "1.00"),), ["Tier 1: the upper bound must be greater than the lower bound."]),
        (
            (("1", None, "1.00"), ("11", "51", "0.80")),
            ["Tier 1: only the last tier can have an open upper bound."],
        ),
        (
            (("1", "11", "-1.00"), ("11", None, "0.80", "-2")),
            ["Tier 1: prices must not be negative.", "Tier 2: prices must not be negative."],
        ),
    ],
)
def test_validate_tiers_names_each_problem(rows, expected):
    assert validate_tiers(tiers(*rows)) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (PriceSpec("per_unit", D("1.00")), []),
        (PriceSpec("monthly"), ["Unknown pricing model “monthly”."]),
        (PriceSpec("flat"), ["A unit price is required."]),
        (PriceSpec("per_unit", D("-1")), ["The unit price must not be negative."]),
        (PriceSpec("package", D("5.00")), ["The package size must be greater than 0."]),
        (PriceSpec("package", D("5.00"), package_size=D("0")), ["The package size must be greater than 0."]),
        (
            PriceSpec("per_unit", D("1.00"), tiers=BLOCKS_FROM_1),
            ["Only tiered, volume and block prices have tiers."],
        ),
        (
            PriceSpec("block", tiers=tiers(("1", "11", "1.00", "2.00"))),
            ["Block prices use the tier's unit price as the block price; leave flat fees at 0."],
        ),
        (
            PriceSpec("tiered", tiers=BLOCKS_FROM_1, free_units=D("5")),
            ["Free units apply to per-unit and package prices only; use a tier priced 0."],
        ),
        (PriceSpec("per_unit", D("1.00"), free_units=D("-1")), ["Free units must not be negative."]),
        (PriceSpec("volume"), ["Add at least one tier."]),
    ],
)
def test_validate_price_spec(spec, expected):
    assert validate_price_spec(spec) == expected


def test_an_invalid_spec_cannot_price():
    with pytest.raises(PricingError, match="Gap between tier 1") as caught:
        price_for_quantity(
            spec=PriceSpec("tiered", tiers=tiers(("1", "11", "1"), ("12", None, "1"))), quantity=D(3)
        )
    assert caught.value.fields == {"price": ["Gap between tier 1 (up to 11) and tier 2 (from 12)."]}


# --- discounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"list_unit_price": D("100.00")}, "100.000000"),
        ({"list_unit_price": D("100.00"), "percent": D("10")}, "90.000000"),
        ({"list_unit_price": D("100.00"), "percent": D("100")}, "0.000000"),
        ({"list_unit_price": D("100.00"), "amount_per_unit": D("12.5")}, "87.500000"),
        ({"list_unit_price": D("100.00"), "amount_per_unit": D("100")}, "0.000000"),
        ({"list_unit_price": D("33.333333"), "percent": D("12.5")}, "29.166666"),
        ({"list_unit_price": D("0.000001"), "percent": D("50")}, "0.000001"),
        # the quote-level percent applies after the line discount: 10 % then 5 % is 14.5 % off
        ({"list_unit_price": D("100.00"), "percent": D("10"), "quote_percent": D("5")}, "85.500000"),
        ({"list_unit_price": D("100.00"), "amount_per_unit": D("20"), "quote_percent": D("10")}, "72.000000"),
        # one rounding for the whole chain: 0.000015 × 0.5 × 0.5 = 0.00000375, never 0.000008 × 0.5
        ({"list_unit_price": D("0.000015"), "percent": D("50"), "quote_percent": D("50")}, "0.000004"),
    ],
)
def test_apply_discount(kwargs, expected):
    assert str(apply_discount(**kwargs)) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"percent": D("101")}, "between 0 and 100"),
        ({"percent": D("-1")}, "between 0 and 100"),
        ({"quote_percent": D("150")}, "between 0 and 100"),
        ({"amount_per_unit": D("120")}, "more than the list price"),
        ({"amount_per_unit": D("-1")}, "must not be negative"),
        ({"percent": D("10"), "amount_per_unit": D("1")}, "not both"),
    ],
)
def test_apply_discount_refuses(kwargs, message):
    with pytest.raises(PricingError, match=message):
        apply_discount(list_unit_price=D("100.00"), **kwargs)


# --- billing periods -------------------------------------------------------------------------------


def test_frequencies_are_months():
    assert FREQUENCY_MONTHS == {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
    assert Frequency.QUARTERLY.months == 3


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # anniversary, monthly from the 31st: the anchor day is kept, short months clamp
        (
            {
                "start": d("2025-01-31"),
                "end": d("2025-06-15"),
                "frequency_months": 1,
                "boundary": "anniversary",
            },
            periods(
                ("2025-01-31", "2025-02-28"),
                ("2025-02-28", "2025-03-31"),
                ("2025-03-31", "2025-04-30"),
                ("2025-04-30", "2025-05-31"),
                ("2025-05-31", "2025-06-15", "2025-05-31", "2025-06-30"),
            ),
        ),
        # anniversary from the 29th and the 30th
        (
            {
                "start": d("2025-01-29"),
                "end": d("2025-04-29"),
                "frequency_months": 1,
                "boundary": "anniversary",
            },
            periods(("2025-01-29", "2025-02-28"), ("2025-02-28", "2025-03-29"), ("2025-03-29", "2025-04-29")),
        ),
        (
            {
                "start": d("2024-01-30"),
                "end": d("2024-04-30"),
                "frequency_months": 1,
                "boundary": "anniversary",
            },
            periods(("2024-01-30", "2024-02-29"), ("2024-02-29", "2024-03-30"), ("2024-03-30", "2024-04-30")),
        ),
        # anniversary, quarterly
        (
            {
                "start": d("2025-01-15"),
                "end": d("2025-12-01"),
                "frequency_months": 3,
                "boundary": "anniversary",
            },
            periods(
                ("2025-01-15", "2025-04-15"),
                ("2025-04-15", "2025-07-15"),
                ("2025-07-15", "2025-10-15"),
                ("2025-10-15", "2025-12-01", "2025-10-15", "2026-01-15"),
            ),
        ),
        # anniversary, semiannual from the 31st
        (
            {
                "start": d("2025-08-31"),
                "end": d("2026-08-31"),
                "frequency_months": 6,
                "boundary": "anniversary",
            },
            periods(("2025-08-31", "2026-02-28"), ("2026-02-28", "2026-08-31")),
        ),
        # anniversary, annual from a leap day
        (
            {
                "start": d("2024-02-29"),
                "end": d("2028-03-01"),
                "frequency_months": 12,
                "boundary": "anniversary",
            },
            periods(
                ("2024-02-29", "2025-02-28"),
                ("2025-02-28", "2026-02-28"),
                ("2026-02-28", "2027-02-28"),
                ("2027-02-28", "2028-02-29"),
                ("2028-02-29", "2028-03-01", "2028-02-29", "2029-02-28"),
            ),
        ),
        # calendar months, quarters, half-years and years
        (
            {"start": d("2025-01-15"), "end": d("2025-04-01"), "frequency_months": 1, "boundary": "calendar"},
            periods(
                ("2025-01-15", "2025-02-01", "2025-01-01", "2025-02-01"),
                ("2025-02-01", "2025-03-01"),
                ("2025-03-01", "2025-04-01"),
            ),
        ),
        (
            {"start": d("2025-02-10"), "end": d("2025-10-01"), "frequency_months": 3, "boundary": "calendar"},
            periods(
                ("2025-02-10", "2025-04-01", "2025-01-01", "2025-04-01"),
                ("2025-04-01", "2025-07-01"),
                ("2025-07-01", "2025-10-01"),
            ),
        ),
        (
            {"start": d("2025-03-10"), "end": d("2026-03-01"), "frequency_months": 6, "boundary": "calendar"},
            periods(
                ("2025-03-10", "2025-07-01", "2025-01-01", "2025-07-01"),
                ("2025-07-01", "2026-01-01"),
                ("2026-01-01", "2026-03-01", "2026-01-01", "2026-07-01"),
            ),
        ),
        (
            {
                "start": d("2025-05-20"),
                "end": d("2027-01-01"),
                "frequency_months": 12,
                "boundary": "calendar",
            },
            periods(("2025-05-20", "2026-01-01", "2025-01-01", "2026-01-01"), ("2026-01-01", "2027-01-01")),
        ),
        # billing day: the first piece runs to the next billing day, whatever the frequency
        (
            {
                "start": d("2025-03-28"),
                "end": d("2025-10-05"),
                "frequency_months": 3,
                "boundary": "billing_day",
                "billing_day": 5,
            },
            periods(
                ("2025-03-28", "2025-04-05", "2025-01-05", "2025-04-05"),
                ("2025-04-05", "2025-07-05"),
                ("2025-07-05", "2025-10-05"),
            ),
        ),
        # billing day: a start on the billing day has no partial piece
        (
            {
                "start": d("2025-03-05"),
                "end": d("2025-05-05"),
                "frequency_months": 1,
                "boundary": "billing_day",
                "billing_day": 5,
            },
            periods(("2025-03-05", "2025-04-05"), ("2025-04-05", "2025-05-05")),
        ),
        # billing day 31 clamps in short months
        (
            {
                "start": d("2025-01-15"),
                "end": d("2025-05-01"),
                "frequency_months": 1,
                "boundary": "billing_day",
                "billing_day": 31,
            },
            periods(
                ("2025-01-15", "2025-01-31", "2024-12-31", "2025-01-31"),
                ("2025-01-31", "2025-02-28"),
                ("2025-02-28", "2025-03-31"),
                ("2025-03-31", "2025-04-30"),
                ("2025-04-30", "2025-05-01", "2025-04-30", "2025-05-31"),
            ),
        ),
        # billing day 30 in February, billing day 29 in a leap year
        (
            {
                "start": d("2025-02-10"),
                "end": d("2025-04-30"),
                "frequency_months": 1,
                "boundary": "billing_day",
                "billing_day": 30,
            },
            periods(
                ("2025-02-10", "2025-02-28", "2025-01-30", "2025-02-28"),
                ("2025-02-28", "2025-03-30"),
                ("2025-03-30", "2025-04-30"),
            ),
        ),
        (
            {
                "start": d("2024-02-01"),
                "end": d("2024-04-01"),
                "frequency_months": 1,
                "boundary": "billing_day",
                "billing_day": 29,
            },
            periods(
                ("2024-02-01", "2024-02-29", "2024-01-29", "2024-02-29"),
                ("2024-02-29", "2024-03-29"),
                ("2024-03-29", "2024-04-01", "2024-03-29", "2024-04-29"),
            ),
        ),
        # a start on 28 Feb with billing day 31 is on the (clamped) billing day
        (
            {
                "start": d("2025-02-28"),
                "end": d("2025-03-31"),
                "frequency_months": 1,
                "boundary": "billing_day",
                "billing_day": 31,
            },
            periods(("2025-02-28", "2025-03-31")),
        ),
        # nothing served
        (
            {"start": d("2025-03-05"), "end": d("2025-03-05"), "frequency_months": 1, "boundary": "calendar"},
            [],
        ),
    ],
)
def test_billing_periods(kwargs, expected):
    assert billing_periods(**kwargs) == expected


def test_published_billing_day_schedule():
    result = billing_periods(
        start=d("2025-03-28"), end=d("2026-02-05"), frequency_months=1, boundary="billing_day", billing_day=5
    )
    assert result[0] == Period(d("2025-03-28"), d("2025-04-05"), d("2025-03-05"), d("2025-04-05"))
    fifths = [
        d(day) for day in ("2025-04-05", "2025-05-05", "2025-06-05", "2025-07-05", "2025-08-05", "2025-09-05")
    ]
    fifths += [d(day) for day in ("2025-10-05", "2025-11-05", "2025-12-05", "2026-01-05", "2026-02-05")]
    assert result[1:] == [
        Period(start, end, start, end) for start, end in zip(fifths, fifths[1:], strict=False)
    ]
    assert result[-1].last_day == d("2026-02-04")


def test_evergreen_periods_start_before_the_limit_and_are_not_cut():
    kwargs = {"start": d("2025-01-10"), "end": None, "frequency_months": 1, "boundary": "anniversary"}
    assert billing_periods(**kwargs, limit_until=d("2025-04-10")) == periods(
        ("2025-01-10", "2025-02-10"), ("2025-02-10", "2025-03-10"), ("2025-03-10", "2025-04-10")
    )
    assert (
        billing_periods(**kwargs, limit_until=d("2025-04-11"))[-1] == periods(("2025-04-10", "2025-05-10"))[0]
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"end": None}, "evergreen"),
        ({"end": d("2025-01-01")}, "before its start"),
        ({"frequency_months": 2}, "1, 3, 6 or 12"),
        ({"boundary": "weekly"}, "Unknown billing boundary"),
        ({"boundary": "billing_day"}, "billing day of month"),
        ({"boundary": "billing_day", "billing_day": 32}, "billing day of month"),
    ],
)
def test_billing_periods_refuses(kwargs, message):
    base = {
        "start": d("2025-03-05"),
        "end": d("2025-06-05"),
        "frequency_months": 1,
        "boundary": "anniversary",
    }
    with pytest.raises(PricingError, match=message):
        billing_periods(**{**base, **kwargs})


# --- proration -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("piece", "full", "day_count", "expected", "shown"),
    [
        (
            ("2025-03-28", "2025-04-05"),
            ("2025-03-05", "2025-04-05"),
            "actual_days",
            (8, 31),
            "8/31 = 0.258065",
        ),
        (
            ("2025-01-01", "2025-01-13"),
            ("2025-01-01", "2025-02-01"),
            "actual_days",
            (12, 31),
            "12/31 = 0.387097",
        ),
        (
            ("2025-02-01", "2025-02-15"),
            ("2025-02-01", "2025-03-01"),
            "actual_days",
            (14, 28),
            "14/28 = 0.500000",
        ),
        (
            ("2025-01-01", "2025-02-01"),
            ("2025-01-01", "2025-02-01"),
            "actual_days",
            (31, 31),
            "31/31 = 1.000000",
        ),
        # 30E/360: 1 − 15 + 30 × (2 − 1) = 16 (the 31st counts as the 30th)
        (
            ("2025-01-15", "2025-02-01"),
            ("2025-01-01", "2025-02-01"),
            "thirty_360",
            (16, 30),
            "16/30 = 0.533333",
        ),
        (
            ("2025-01-01", "2025-01-15"),
            ("2025-01-01", "2025-02-01"),
            "thirty_360",
            (14, 30),
            "14/30 = 0.466667",
        ),
        (
            ("2025-01-01", "2025-01-31"),
            ("2025-01-01", "2025-02-01"),
            "thirty_360",
            (29, 30),
            "29/30 = 0.966667",
        ),
        (
            ("2025-01-31", "2025-02-01"),
            ("2025-01-01", "2025-02-01"),
            "thirty_360",
            (1, 30),
            "1/30 = 0.033333",
        ),
        (
            ("2025-02-01", "2025-02-15"),
            ("2025-02-01", "2025-03-01"),
            "thirty_360",
            (14, 30),
            "14/30 = 0.466667",
        ),
        (
            ("2025-02-15", "2025-03-01"),
            ("2025-02-01", "2025-03-01"),
            "thirty_360",
            (16, 30),
            "16/30 = 0.533333",
        ),
        (
            ("2025-01-01", "2025-02-01"),
            ("2025-01-01", "2025-02-01"),
            "thirty_360",
            (30, 30),
            "30/30 = 1.000000",
        ),
        # clamped boundaries (anchor 31) still make whole 30-day months
        (
            ("2025-01-31", "2025-02-28"),
            ("2025-01-31", "2025-02-28"),
            "thirty_360",
            (30, 30),
            "30/30 = 1.000000",
        ),
        (
            ("2025-02-28", "2025-03-31"),
            ("2025-02-28", "2025-03-31"),
            "thirty_360",
            (30, 30),
            "30/30 = 1.000000",
        ),
        (
            ("2025-02-28", "2025-03-15"),
            ("2025-02-28", "2025-03-31"),
            "thirty_360",
            (15, 30),
            "15/30 = 0.500000",
        ),
        (
            ("2025-03-15", "2025-03-31"),
            ("2025-02-28", "2025-03-31"),
            "thirty_360",
            (15, 30),
            "15/30 = 0.500000",
        ),
        (
            ("2025-01-29", "2025-02-28"),
            ("2025-01-29", "2025-02-28"),
            "thirty_360",
            (30, 30),
            "30/30 = 1.000000",
        ),
        # a quarter is 90, a leap-day year 360
        (
            ("2025-02-15", "2025-04-01"),
            ("2025-01-01", "2025-04-01"),
            "thirty_360",
            (46, 90),
            "46/90 = 0.511111",
        ),
        (
            ("2024-02-29", "2025-02-28"),
            ("2024-02-29", "2025-02-28"),
            "thirty_360",
            (360, 360),
            "360/360 = 1.000000",
        ),
    ],
)
def test_proration_factor(piece, full, day_count, expected, shown):
    factor = proration_factor(
        piece_start=d(piece[0]),
        piece_end=d(piece[1]),
        full_start=d(full[0]),
        full_end=d(full[1]),
        day_count=day_count,
    )
    assert factor == Factor(*expected)
    assert factor.value == Fraction(*expected)
    assert str(factor) == shown


def test_factor_decimal_rounds_half_up_for_display():
    assert Factor(1, 8).decimal(2) == D("0.13")
    assert Factor(8, 31).decimal() == D("0.258065")


@pytest.mark.parametrize(
    ("piece", "full", "day_count", "message"),
    [
        (("2025-01-01", "2025-02-02"), ("2025-01-01", "2025-02-01"), "actual_days", "not inside"),
        (("2025-01-10", "2025-01-05"), ("2025-01-01", "2025-02-01"), "actual_days", "not inside"),
        (("2025-01-01", "2025-01-01"), ("2025-01-01", "2025-01-01"), "actual_days", "end after it starts"),
        (("2025-01-10", "2025-01-20"), ("2025-01-10", "2025-02-20"), "thirty_360", "whole months"),
        (("2025-01-10", "2025-01-20"), ("2025-01-01", "2025-02-01"), "business_days", "Unknown day count"),
    ],
)
def test_proration_factor_refuses(piece, full, day_count, message):
    with pytest.raises(PricingError, match=message):
        proration_factor(
            piece_start=d(piece[0]),
            piece_end=d(piece[1]),
            full_start=d(full[0]),
            full_end=d(full[1]),
            day_count=day_count,
        )


# --- prorate multiplier and amounts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "default", "expected", "shown"),
    [
        (24, 12, Fraction(2), "2/1 = 2.000000"),
        (35, 12, Fraction(35, 12), "35/12 = 2.916667"),
        (6, None, Fraction(1, 2), "1/2 = 0.500000"),
        (D("1.5"), 1, Fraction(3, 2), "3/2 = 1.500000"),
        (12, 12, Fraction(1), "1/1 = 1.000000"),
    ],
)
def test_prorate_multiplier(term, default, expected, shown):
    multiplier = prorate_multiplier(line_term_months=term, default_term_months=default)
    assert multiplier == expected
    assert format_fraction(multiplier) == shown


def test_a_twelve_month_price_quoted_for_24_months_doubles():
    multiplier = prorate_multiplier(line_term_months=24, default_term_months=12)
    assert amount_for_piece(unit_price=D("30.00"), quantity=D(1), factor=multiplier, currency="EUR") == D(
        "60.00"
    )


def test_prorate_multiplier_refuses_a_zero_default_term():
    with pytest.raises(PricingError):
        prorate_multiplier(line_term_months=12, default_term_months=0)


@pytest.mark.parametrize(
    ("unit_price", "quantity", "factor", "currency", "expected"),
    [
        ("90.00", "1", Factor(8, 31), "EUR", "23.23"),
        ("90.00", "3", Factor(8, 31), "EUR", "69.68"),
        ("0.05", "1", Fraction(1, 2), "EUR", "0.03"),  # exactly half: up, not to even
        ("-0.05", "1", Fraction(1, 2), "EUR", "-0.03"),
        ("0.001", "1", 1, "EUR", "0.00"),
        ("1000", "1", Factor(8, 31), "JPY", "258"),
        ("10.000", "1", Factor(8, 31), "KWD", "2.581"),
        ("2.5", "1", Factor(1, 5), "JPY", "1"),  # 0.5 yen: half-up
        ("0.333333", "3", Factor(1, 1), "EUR", "1.00"),
    ],
)
def test_amount_for_piece_rounds_the_exact_product_once(unit_price, quantity, factor, currency, expected):
    amount = amount_for_piece(
        unit_price=D(unit_price), quantity=D(quantity), factor=factor, currency=currency
    )
    assert str(amount) == expected


def test_published_service_range_of_a_billing_day_subscription():
    breakdown = service_amount(
        unit_price=D("90.00"),
        quantity=D(1),
        start=d("2025-03-28"),
        end=d("2026-02-05"),  # served through 2026-02-04
        frequency_months=1,
        boundary="billing_day",
        billing_day=5,
        day_count="actual_days",
        currency="EUR",
    )
    assert breakdown.periods == 10 + Fraction(8, 31)
    assert breakdown.periods_display == "318/31 = 10.258065"
    assert breakdown.total_amount == D("923.23")
    assert str(breakdown.pieces[0].factor) == "8/31 = 0.258065"
    assert [piece.factor.value for piece in breakdown.pieces] == [Fraction(8, 31)] + [Fraction(1)] * 10
    assert [piece.amount for piece in breakdown.pieces] == [D("23.23")] + [D("90.00")] * 10
    assert breakdown.pieces_amount == D("923.23")
    assert periods_between(
        start=d("2025-03-28"), end=d("2026-02-05"), frequency_months=1, boundary="billing_day", billing_day=5
    ) == Fraction(318, 31)


def test_service_range_total_is_one_rounding_of_the_exact_sum():
    breakdown = service_amount(
        unit_price=D("0.10"),
        quantity=D(1),
        start=d("2025-01-11"),
        end=d("2025-03-12"),
        frequency_months=1,
        boundary="calendar",
        currency="EUR",
    )
    assert [(p.period.start, p.period.end, str(p.factor), p.amount) for p in breakdown.pieces] == [
        (d("2025-01-11"), d("2025-02-01"), "21/31 = 0.677419", D("0.07")),
        (d("2025-02-01"), d("2025-03-01"), "28/28 = 1.000000", D("0.10")),
        (d("2025-03-01"), d("2025-03-12"), "11/31 = 0.354839", D("0.04")),
    ]
    assert breakdown.pieces_amount == D("0.21")  # what a schedule bills, line by line
    assert breakdown.total_amount == D("0.20")  # 0.10 × 63/31 = 0.2032…, rounded once


def test_service_range_under_thirty_360():
    breakdown = service_amount(
        unit_price=D("90.00"),
        quantity=D(2),
        start=d("2025-01-15"),
        end=d("2025-03-01"),
        frequency_months=1,
        boundary="calendar",
        day_count="thirty_360",
        currency="EUR",
    )
    assert [str(p.factor) for p in breakdown.pieces] == ["16/30 = 0.533333", "30/30 = 1.000000"]
    assert breakdown.total_amount == D("276.00")


# --- tax -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("net", "rate", "currency", "expected"),
    [
        ("923.23", "20", "EUR", "184.65"),
        ("0.05", "50", "EUR", "0.03"),
        ("100.00", "0", "EUR", "0.00"),
        ("100", "5.5", "EUR", "5.50"),
        ("1383", "10", "JPY", "138"),
        ("5", "10", "JPY", "1"),
        ("20.150", "5", "KWD", "1.008"),
    ],
)
def test_tax_for_line_is_rounded_once_on_the_rounded_net(net, rate, currency, expected):
    assert str(tax_for_line(net_amount=D(net), rate_percent=D(rate), currency=currency)) == expected


def test_tax_refuses_an_unrounded_net_and_a_negative_rate():
    with pytest.raises(PricingError, match="rounded net"):
        tax_for_line(net_amount=D("10.005"), rate_percent=D("20"), currency="EUR")
    with pytest.raises(PricingError, match="negative"):
        tax_for_line(net_amount=D("10.00"), rate_percent=D("-1"), currency="EUR")
