"""Property tests of the pricing engine's invariants (proration, periods, rounding, tiers)."""

import calendar
from datetime import date, timedelta
from decimal import Context, Decimal, localcontext
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from billing_site.money import minor_units, round_money
from catalog.pricing import (
    PriceSpec,
    Tier,
    amount_for_piece,
    apply_discount,
    billing_periods,
    price_for_quantity,
    proration_factor,
    service_amount,
    tax_for_line,
)

DAY_COUNTS = ("actual_days", "thirty_360")
FREQUENCIES = st.sampled_from([1, 3, 6, 12])
BOUNDARIES = st.sampled_from(["anniversary", "billing_day", "calendar"])
CURRENCIES = st.sampled_from(["EUR", "JPY", "KWD"])
# Month ends are where clamping happens: draw them often.
DAYS_OF_MONTH = st.one_of(st.integers(1, 31), st.sampled_from([28, 29, 30, 31]))

pricing_settings = settings(deadline=None, max_examples=200)


@st.composite
def dates(draw, first_year=2020, last_year=2030):
    year = draw(st.integers(first_year, last_year))
    month = draw(st.integers(1, 12))
    day = min(draw(DAYS_OF_MONTH), calendar.monthrange(year, month)[1])
    return date(year, month, day)


@st.composite
def billing_rules(draw):
    return {
        "frequency_months": draw(FREQUENCIES),
        "boundary": draw(BOUNDARIES),
        "billing_day": draw(DAYS_OF_MONTH),
    }


@st.composite
def full_periods(draw):
    """A full billing period of some rule, possibly years after its anchor (so clamped boundaries)."""
    rule = draw(billing_rules())
    start = draw(dates())
    until = start + timedelta(days=draw(st.integers(1, 1500)))
    last = billing_periods(start=start, end=None, limit_until=until, **rule)[-1]
    return last.full_start, last.full_end


def money(places: int, max_value: int = 10_000):
    return st.decimals(
        min_value=-max_value, max_value=max_value, places=places, allow_nan=False, allow_infinity=False
    )


def exact_round(value: Fraction, currency: str) -> Decimal:
    """Reference: a 100-digit decimal of the exact value, rounded once by the money module."""
    with localcontext(Context(prec=100)):
        approximation = Decimal(value.numerator) / Decimal(value.denominator)
    return round_money(approximation, currency)


# --- proration -------------------------------------------------------------------------------------


@pricing_settings
@given(period=full_periods(), cuts=st.lists(st.integers(0, 400), max_size=6))
def test_the_pieces_of_a_split_period_sum_to_exactly_one(period, cuts):
    full_start, full_end = period
    length = (full_end - full_start).days
    points = sorted({full_start, full_end} | {full_start + timedelta(days=cut % length) for cut in cuts})
    for day_count in DAY_COUNTS:
        factors = [
            proration_factor(
                piece_start=a, piece_end=b, full_start=full_start, full_end=full_end, day_count=day_count
            )
            for a, b in zip(points, points[1:], strict=False)
        ]
        assert all(0 <= factor.value <= 1 for factor in factors)
        assert sum((factor.value for factor in factors), Fraction(0)) == 1


@pricing_settings
@given(period=full_periods())
def test_a_full_period_has_a_factor_of_exactly_one(period):
    full_start, full_end = period
    for day_count in DAY_COUNTS:
        factor = proration_factor(
            piece_start=full_start,
            piece_end=full_end,
            full_start=full_start,
            full_end=full_end,
            day_count=day_count,
        )
        assert factor.value == 1
    months = (full_end.year - full_start.year) * 12 + full_end.month - full_start.month
    assert factor.denominator == 30 * months


# --- periods ---------------------------------------------------------------------------------------


@pricing_settings
@given(rule=billing_rules(), start=dates(), length=st.integers(0, 2000))
def test_billing_periods_cover_the_service_exactly(rule, start, length):
    end = start + timedelta(days=length)
    pieces = billing_periods(start=start, end=end, **rule)
    if length == 0:
        assert pieces == []
        return
    assert pieces[0].start == start
    assert pieces[-1].end == end
    for piece in pieces:
        assert piece.full_start <= piece.start < piece.end <= piece.full_end
        months = (
            (piece.full_end.year - piece.full_start.year) * 12 + piece.full_end.month - piece.full_start.month
        )
        assert months == rule["frequency_months"]
    for before, after in zip(pieces, pieces[1:], strict=False):
        assert before.end == after.start
        assert before.full_end == after.full_start
        assert before.end == before.full_end  # only the first and the last piece can be partial
    assert all(piece.is_full for piece in pieces[1:-1])


@pricing_settings
@given(rule=billing_rules(), start=dates(), length=st.integers(1, 1000))
def test_evergreen_periods_are_the_same_grid(rule, start, length):
    until = start + timedelta(days=length)
    evergreen = billing_periods(start=start, end=None, limit_until=until, **rule)
    assert evergreen[-1].start < until <= evergreen[-1].end
    assert all(piece.end == piece.full_end for piece in evergreen)
    bounded = billing_periods(start=start, end=evergreen[-1].end, **rule)
    assert bounded == evergreen


# --- rounding --------------------------------------------------------------------------------------


@pricing_settings
@given(
    unit_price=money(6),
    quantity=st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False),
    numerator=st.integers(0, 400),
    denominator=st.integers(1, 400),
    currency=CURRENCIES,
)
def test_amount_for_piece_is_the_exact_product_rounded_once(
    unit_price, quantity, numerator, denominator, currency
):
    factor = Fraction(numerator, denominator)
    amount = amount_for_piece(unit_price=unit_price, quantity=quantity, factor=factor, currency=currency)
    assert amount == exact_round(Fraction(unit_price) * Fraction(quantity) * factor, currency)
    assert amount.as_tuple().exponent == -minor_units(currency)


@pricing_settings
@given(
    unit_price=money(2, 1000),
    rule=billing_rules(),
    start=dates(),
    length=st.integers(1, 800),
    day_count=st.sampled_from(DAY_COUNTS),
)
def test_a_service_total_rounds_the_exact_sum_once(unit_price, rule, start, length, day_count):
    breakdown = service_amount(
        unit_price=unit_price,
        quantity=Decimal(1),
        start=start,
        end=start + timedelta(days=length),
        day_count=day_count,
        currency="EUR",
        **rule,
    )
    assert breakdown.total_amount == exact_round(Fraction(unit_price) * breakdown.periods, "EUR")
    assert breakdown.pieces_amount == sum(piece.amount for piece in breakdown.pieces)
    # each piece is off by at most half a cent, so the two totals differ by at most that per piece
    assert abs(breakdown.total_amount - breakdown.pieces_amount) <= Decimal("0.005") * len(breakdown.pieces)


@pricing_settings
@given(net=money(2), rate=st.decimals(min_value=0, max_value=100, places=3), currency=CURRENCIES)
def test_tax_is_the_rounded_net_times_the_rate_rounded_once(net, rate, currency):
    net = round_money(net, currency)
    expected = exact_round(Fraction(net) * Fraction(rate) / 100, currency)
    assert tax_for_line(net_amount=net, rate_percent=rate, currency=currency) == expected


@pricing_settings
@given(
    list_price=st.decimals(min_value=0, max_value=10_000, places=6),
    percent=st.decimals(min_value=0, max_value=100, places=2),
    quote_percent=st.decimals(min_value=0, max_value=100, places=2),
)
def test_a_discounted_price_is_never_negative_nor_above_the_list_price(list_price, percent, quote_percent):
    net = apply_discount(list_unit_price=list_price, percent=percent, quote_percent=quote_percent)
    assert 0 <= net <= list_price
    exact = Fraction(list_price) * (1 - Fraction(percent) / 100) * (1 - Fraction(quote_percent) / 100)
    assert abs(Fraction(net) - exact) <= Fraction(1, 2 * 10**6)


# --- tiers -----------------------------------------------------------------------------------------


@st.composite
def tier_tables(draw, first=None):
    """A valid tier table: contiguous bands with non-negative prices, the last one open or closed."""
    lower = Decimal(draw(st.sampled_from([0, 1])) if first is None else first)
    widths = draw(st.lists(st.decimals(min_value="0.5", max_value=100, places=1), min_size=0, max_size=4))
    prices = st.decimals(min_value=0, max_value=50, places=2)
    table = []
    for width in widths:
        table.append(Tier(lower, lower + width, draw(prices), draw(prices)))
        lower += width
    table.append(Tier(lower, draw(st.one_of(st.none(), st.just(lower + 10))), draw(prices), draw(prices)))
    return tuple(table)


def _capacity(table: tuple[Tier, ...]) -> Decimal:
    last = table[-1].upper
    return Decimal(10_000) if last is None else last - table[0].lower


@pricing_settings
@given(table=tier_tables(), a=st.decimals(0, 1, places=4), b=st.decimals(0, 1, places=4))
def test_a_graduated_price_never_decreases_with_quantity(table, a, b):
    spec = PriceSpec("tiered", tiers=table)
    capacity = _capacity(table)
    small, large = sorted((a * capacity, b * capacity))
    assert 0 <= price_for_quantity(spec=spec, quantity=small) <= price_for_quantity(spec=spec, quantity=large)


@pricing_settings
@given(
    table=tier_tables(first=0),
    share=st.decimals(0, 1, places=4),
    model=st.sampled_from(["tiered", "volume", "block"]),
)
def test_tiers_written_from_0_or_from_1_price_the_same(table, share, model):
    if model == "block":
        table = tuple(Tier(t.lower, t.upper, t.unit_price) for t in table)
    shifted = tuple(
        Tier(t.lower + 1, None if t.upper is None else t.upper + 1, t.unit_price, t.flat_fee) for t in table
    )
    quantity = share * _capacity(table)
    from_0 = price_for_quantity(spec=PriceSpec(model, tiers=table), quantity=quantity)
    from_1 = price_for_quantity(spec=PriceSpec(model, tiers=shifted), quantity=quantity)
    assert from_0 == from_1


@pricing_settings
@given(table=tier_tables(), share=st.decimals(0, 1, places=4))
def test_a_volume_price_is_the_graduated_price_when_there_is_one_tier_reached(table, share):
    """Within the first tier, every model that uses tiers agrees: all units are in that tier."""
    first = table[0]
    width = _capacity(table) if first.upper is None else first.upper - first.lower
    quantity = share * width
    graduated = price_for_quantity(spec=PriceSpec("tiered", tiers=table), quantity=quantity)
    volume = price_for_quantity(spec=PriceSpec("volume", tiers=table), quantity=quantity)
    assert graduated == volume
