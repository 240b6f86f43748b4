"""The quote's line pricing and totals, as exact values (pure functions, no database)."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from catalog.pricing import (
    PriceSpec,
    PricingError,
    Tier,
    apply_discount,
    price_for_quantity,
)
from quotes.pricing import NegativeNetPrice, TotalInput, line_term_months, price_line, quote_totals

D = Decimal
PER_UNIT_1200 = PriceSpec(model="per_unit", unit_price=D("1200"))
TIERED = PriceSpec(model="tiered", tiers=(Tier(D(1), D(11), D(100)), Tier(D(11), None, D(80))))
FLAT_500 = PriceSpec(model="flat", unit_price=D("500"))


def line(spec=PER_UNIT_1200, charge_type="recurring", quantity="1", start="2026-04-01", end="2027-04-01", **kw):
    args = dict(
        charge_type=charge_type, spec=spec, quantity=D(quantity), discount_percent=None, discount_amount=None,
        quote_percent=None, start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end),
        default_term_months=None, currency="EUR",
    )
    args.update(kw)
    return price_line(**args)


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        ("2026-04-01", "2027-04-01", Fraction(12)),
        ("2026-01-31", "2026-02-28", Fraction(1)),  # the anchor day clamps in February
        ("2026-01-15", "2026-03-01", Fraction(3, 2)),  # 1 month + 14 of February's 28 days
        ("2026-04-01", "2029-03-01", Fraction(35)),
    ],
)
def test_line_term_counts_whole_months_and_the_exact_day_fraction(start, end, months):
    assert line_term_months(start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end)) == months


@pytest.mark.parametrize(
    ("kwargs", "net", "total", "multiplier"),
    [
        ({"quantity": "10", "discount_percent": D("15")}, D("1020.000000"), D("10200.00"), Fraction(1)),
        ({"quantity": "3", "end": "2029-03-01"}, D("1200.000000"), D("10500.00"), Fraction(35, 12)),
        ({"quantity": "1", "start": "2026-01-15", "end": "2026-03-01"}, D("1200.000000"), D("150.00"), Fraction(1, 8)),
        ({"quantity": "2", "end": "2028-04-01", "default_term_months": 24}, D("1200.000000"), D("2400.00"), Fraction(1)),
        ({"quantity": "1", "discount_percent": D("10"), "quote_percent": D("5")}, D("1026.000000"), D("1026.00"), Fraction(1)),
        ({"quantity": "4", "discount_amount": D("200")}, D("1000.000000"), D("4000.00"), Fraction(1)),
        ({"quantity": "7", "end": "2026-05-11"}, D("1200.000000"), D("925.81"), Fraction(41, 372)),
    ],
)
def test_recurring_line_total_is_net_times_quantity_times_multiplier_rounded_once(kwargs, net, total, multiplier):
    result = line(**kwargs)
    assert (result.net_unit_price, result.line_total, result.multiplier) == (net, total, multiplier)


def test_a_tiered_price_becomes_the_unit_price_of_the_quantity_then_is_discounted():
    result = line(spec=TIERED, quantity="15", discount_percent=D("10"))
    assert price_for_quantity(spec=TIERED, quantity=D("15")) == D("1400")
    # 1,400 ÷ 15 = 93.333333 (6 places), × 0.9 = 84.000000, × 15 = 1,260.00: what the contract bills.
    assert (result.basis, result.list_unit_price, result.net_unit_price) == ("quantity", D("93.333333"), D("84.000000"))
    assert result.line_total == D("1260.00")
    assert line(spec=TIERED, quantity="15").line_total == D("1400.00")  # 1,399.999995 rounds once to 1,400.00


def test_an_amount_per_unit_comes_off_the_unit_price():
    result = line(spec=TIERED, quantity="15", discount_amount=D("2"))
    assert (result.net_unit_price, result.line_total) == (D("91.333333"), D("1370.00"))


def test_one_time_line_is_net_times_quantity():
    result = line(spec=FLAT_500, charge_type="one_time", quantity="3", discount_percent=D("20"))
    assert (result.list_unit_price, result.net_unit_price, result.line_total) == (D("166.666667"), D("133.333334"), D("400.00"))
    result = line(spec=PriceSpec(model="per_unit", unit_price=D("99.99")), charge_type="one_time", quantity="3")
    assert result.line_total == D("299.97")


def test_usage_line_adds_nothing_and_keeps_its_rate():
    result = line(spec=PriceSpec(model="per_unit", unit_price=D("0.002")), charge_type="usage", quantity="1000")
    assert (result.line_total, result.net_unit_price, result.monthly_value) == (D("0"), D("0.002"), Fraction(0))


def test_effective_discount_combines_line_and_quote_discounts():
    result = line(quantity="1", discount_percent=D("10"), quote_percent=D("5"))
    assert result.effective_discount == Fraction(145, 10)  # 14.5 %, not 15 %
    assert line(quantity="2", discount_amount=D("300")).effective_discount == Fraction(25)


def test_discount_more_than_the_list_price_is_refused():
    with pytest.raises(NegativeNetPrice) as exc:
        line(quantity="1", discount_amount=D("1200.01"))
    assert str(exc.value) == "This discount is more than the list price of €1,200.00: the net price would be negative."


def test_discount_above_100_percent_is_refused_by_the_engine():
    with pytest.raises(PricingError):
        line(quantity="1", discount_percent=D("101"))


def test_a_line_that_ends_before_it_starts_is_refused():
    with pytest.raises(PricingError) as exc:
        line(start="2026-04-01", end="2026-04-01")
    assert str(exc.value) == "The line must end after it starts."


def test_quote_totals_sum_rounded_lines_and_round_mrr_once():
    lines = [
        TotalInput("recurring", D("10200.00"), Fraction(12), D("2040.00")),
        TotalInput("one_time", D("500.00"), Fraction(12), D("100.00")),
        TotalInput("recurring", D("1400.00"), Fraction(12), D("280.00")),
        TotalInput("usage", D("0"), Fraction(12), D("0.00")),
    ]
    totals = quote_totals(lines=lines, currency="EUR")
    assert (totals.one_time_total, totals.recurring_total, totals.total_contract_value) == (D("500.00"), D("11600.00"), D("12100.00"))
    # 850 + 116.666… = 966.666… → 966.67; ARR is 12 × the exact sum (11,600.00), not 12 × 966.67.
    assert (totals.mrr, totals.arr) == (D("966.67"), D("11600.00"))
    assert (totals.tax_estimate, totals.grand_total) == (D("2420.00"), D("14520.00"))


def test_the_engine_gives_the_same_net_as_the_quote():
    # 1,200 less 12.5 % = 1,050: the quote line and the engine agree on the figure, not just with each other.
    assert line(quantity="1", discount_percent=D("12.5")).net_unit_price == D("1050")
    assert apply_discount(list_unit_price=D("1200"), percent=D("12.5")) == D("1050")
