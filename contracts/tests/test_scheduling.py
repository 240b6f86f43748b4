"""The pure schedule planner: exact entries (start, end, factor, amount) by table, and by property."""

import calendar
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_site.money import round_money
from catalog.pricing import billing_periods, proration_factor
from contracts import scheduling
from contracts.scheduling import BILLED, CANCELLED, PENDING, Terms
from contracts.tests.ledger import Ledger


def d(text: str) -> date:
    return date.fromisoformat(text)


def terms(**kwargs) -> Terms:
    values = {
        "charge_type": "recurring", "unit_price": Decimal("1200"), "price_term_months": 12, "frequency_months": 1,
        "billing_type": "advance", "boundary": "anniversary", "day_count": "actual_days", "currency": "EUR",
        "anchor": d("2025-01-01"), "billing_day": 1,
    }
    values.update(kwargs)
    return Terms(**values)


def rows(entries):
    return [
        (e.period_start.isoformat(), e.period_end.isoformat(), e.bill_on.isoformat(),
         f"{e.factor.numerator}/{e.factor.denominator}", None if e.amount is None else str(e.amount))
        for e in entries
    ]


SCHEDULES = [
    pytest.param(
        terms(anchor=d("2025-01-31"), unit_price=Decimal("120")), 3, "2025-01-31", "2025-05-31",
        [
            # monthly, anniversary on the 31st: the anchor day is kept, short months clamp
            ("2025-01-31", "2025-02-28", "2025-01-31", "28/28", "30.00"),
            ("2025-02-28", "2025-03-31", "2025-02-28", "31/31", "30.00"),
            ("2025-03-31", "2025-04-30", "2025-03-31", "30/30", "30.00"),
            ("2025-04-30", "2025-05-31", "2025-04-30", "31/31", "30.00"),
        ],
        id="monthly-advance-anniversary-31st",
    ),
    pytest.param(
        terms(anchor=d("2025-02-15"), frequency_months=3, billing_type="arrears", boundary="calendar"), 1,
        "2025-02-15", "2026-02-15",
        [
            # quarterly in arrears on calendar quarters: first and last pieces prorated, billed at their end
            ("2025-02-15", "2025-04-01", "2025-04-01", "45/90", "150.00"),
            ("2025-04-01", "2025-07-01", "2025-07-01", "91/91", "300.00"),
            ("2025-07-01", "2025-10-01", "2025-10-01", "92/92", "300.00"),
            ("2025-10-01", "2026-01-01", "2026-01-01", "92/92", "300.00"),
            ("2026-01-01", "2026-02-15", "2026-02-15", "45/90", "150.00"),
        ],
        id="quarterly-arrears-calendar",
    ),
    pytest.param(
        terms(anchor=d("2024-01-10"), frequency_months=6, boundary="billing_day", billing_day=15, unit_price=Decimal("1000")),
        2, "2024-01-10", "2025-01-10",
        [
            # semiannual on the account's billing day 15: partial first piece up to the 15th
            ("2024-01-10", "2024-01-15", "2024-01-10", "5/184", "27.17"),
            ("2024-01-15", "2024-07-15", "2024-01-15", "182/182", "1000.00"),
            ("2024-07-15", "2025-01-10", "2024-07-15", "179/184", "972.83"),
        ],
        id="semiannual-billing-day",
    ),
    pytest.param(
        terms(anchor=d("2024-02-29"), frequency_months=12, unit_price=Decimal("999.99")), 1, "2024-02-29", "2027-02-28",
        [
            # annual from a leap day: 29 Feb clamps to 28 Feb in common years
            ("2024-02-29", "2025-02-28", "2024-02-29", "365/365", "999.99"),
            ("2025-02-28", "2026-02-28", "2025-02-28", "365/365", "999.99"),
            ("2026-02-28", "2027-02-28", "2026-02-28", "365/365", "999.99"),
        ],
        id="annual-leap-day",
    ),
    pytest.param(
        terms(anchor=d("2023-12-29"), frequency_months=12, boundary="calendar", unit_price=Decimal("3650")), 1,
        "2023-12-29", "2025-12-29",
        [
            # annual on calendar years across the 2024 leap year
            ("2023-12-29", "2024-01-01", "2023-12-29", "3/365", "30.00"),
            ("2024-01-01", "2025-01-01", "2024-01-01", "366/366", "3650.00"),
            ("2025-01-01", "2025-12-29", "2025-01-01", "362/365", "3620.00"),
        ],
        id="annual-calendar-leap-year",
    ),
    pytest.param(
        terms(anchor=d("2025-01-30"), boundary="billing_day", billing_day=31, day_count="thirty_360", unit_price=Decimal("360")),
        1, "2025-01-30", "2025-04-30",
        [
            # 30/360 on billing day 31: 30 Jan → 31 Jan counts 0 days (nothing billed); clamped month ends count 30
            ("2025-01-31", "2025-02-28", "2025-01-31", "30/30", "30.00"),
            ("2025-02-28", "2025-03-31", "2025-02-28", "30/30", "30.00"),
            ("2025-03-31", "2025-04-30", "2025-03-31", "30/30", "30.00"),
        ],
        id="monthly-thirty-360-billing-day-31",
    ),
    pytest.param(
        terms(anchor=d("2025-03-29"), boundary="billing_day", billing_day=1, billing_type="arrears", unit_price=Decimal("310")),
        1, "2025-03-29", "2025-06-01",
        [
            ("2025-03-29", "2025-04-01", "2025-04-01", "3/31", "2.50"),
            ("2025-04-01", "2025-05-01", "2025-05-01", "30/30", "25.83"),
            ("2025-05-01", "2025-06-01", "2025-06-01", "31/31", "25.83"),
        ],
        id="monthly-arrears-start-29th",
    ),
]


@pytest.mark.parametrize(("t", "quantity", "start", "end", "expected"), SCHEDULES)
def test_schedule_table(t, quantity, start, end, expected):
    entries = scheduling.entries_for(terms=t, quantity=Decimal(quantity), start=d(start), end=d(end))
    assert rows(entries) == expected


def test_one_time_product_is_one_entry_on_the_start_day():
    t = terms(charge_type="one_time", unit_price=Decimal("499.50"))
    entries = scheduling.entries_for(terms=t, quantity=Decimal("3"), start=d("2025-03-31"), end=d("2026-03-31"))
    assert rows(entries) == [("2025-03-31", "2025-04-01", "2025-03-31", "1/1", "1498.50")]
    assert entries[0].kind == "one_time"


def test_usage_is_one_unrated_entry_per_period_billed_in_arrears():
    t = terms(charge_type="usage", billing_type="arrears", boundary="calendar", unit_price=Decimal("0.05"))
    entries = scheduling.entries_for(terms=t, quantity=Decimal("1"), start=d("2025-01-15"), end=d("2025-03-01"))
    assert rows(entries) == [
        ("2025-01-15", "2025-02-01", "2025-02-01", "17/31", None),
        ("2025-02-01", "2025-03-01", "2025-03-01", "28/28", None),
    ]
    assert {e.kind for e in entries} == {"usage"}


def test_evergreen_schedule_stops_at_the_horizon_and_extends_from_there():
    t = terms(anchor=d("2025-01-10"), unit_price=Decimal("120"))
    first = scheduling.entries_for(terms=t, quantity=Decimal("1"), start=d("2025-01-10"), end=None, until=d("2025-03-11"))
    assert rows(first) == [
        ("2025-01-10", "2025-02-10", "2025-01-10", "31/31", "10.00"),
        ("2025-02-10", "2025-03-10", "2025-02-10", "28/28", "10.00"),
        ("2025-03-10", "2025-04-10", "2025-03-10", "31/31", "10.00"),
    ]
    more = scheduling.entries_for(terms=t, quantity=Decimal("1"), start=d("2025-04-10"), end=None, until=d("2025-05-11"))
    assert rows(more) == [
        ("2025-04-10", "2025-05-10", "2025-04-10", "30/30", "10.00"),
        ("2025-05-10", "2025-06-10", "2025-05-10", "31/31", "10.00"),
    ]


def deltas(entries):
    return [
        (e.kind, e.period_start.isoformat(), e.period_end.isoformat(), e.bill_on.isoformat(), scheduling.plain(e.quantity),
         f"{e.factor.numerator}/{e.factor.denominator}", str(e.amount))
        for e in entries
    ]


def seats(*, price="20", quantity="8", day_count="actual_days", boundary="anniversary", end="2025-04-01", **kwargs):
    """Monthly seats priced per month, in advance, from 2025-01-01."""
    t = terms(unit_price=Decimal(price), price_term_months=1, day_count=day_count, boundary=boundary, **kwargs)
    return Ledger(terms=t, quantity=Decimal(quantity), start=d("2025-01-01"), end=d(end))


def test_adding_seats_bills_only_the_added_seats_for_the_rest_of_the_billed_period():
    """The issue's example: 8 → 11 seats at 20.00 on day 21 of a 31-day billed period."""
    ledger = seats()
    ledger.bill(d("2025-01-01"))
    plan = ledger.amend(effective=d("2025-01-21"), quantity=Decimal("11"), today=d("2025-01-21"))
    assert plan.cancelled == [] and plan.credits == [] and plan.replacements == []
    assert deltas(plan.charges) == [
        # 3 × 20.00 × 11/31 = 21.29, where crediting 8 and billing 11 gave −56.77 + 78.06
        ("charge", "2025-01-21", "2025-02-01", "2025-01-21", "3", "11/31", "21.29"),
        ("charge", "2025-02-01", "2025-03-01", "2025-02-01", "3", "28/28", "60.00"),
        ("charge", "2025-03-01", "2025-04-01", "2025-03-01", "3", "31/31", "60.00"),
    ]
    assert all(e.delta for e in plan.charges)
    assert scheduling.explain(plan.charges[0], "EUR") == "+3 × 20 × 1/1 × 11/31 = 21.29 EUR"
    # the original lines stay: 8 seats billed in January, 8 seats pending for February and March
    assert [(e.status, scheduling.plain(e.quantity), str(e.amount)) for e in ledger.rows[:3]] == [
        (BILLED, "8", "160.00"), (PENDING, "8", "160.00"), (PENDING, "8", "160.00"),
    ]


def test_five_seats_added_with_four_days_left_cost_five_seats_for_four_days():
    """10 → 15 at 12.00 with 4 of 31 days left: 5 × 12.00 × 4/31 = 7.74 (not −15.48 + 23.23 = 7.75)."""
    ledger = seats(price="12", quantity="10")
    ledger.bill(d("2025-01-01"))
    plan = ledger.amend(effective=d("2025-01-28"), quantity=Decimal("15"), today=d("2025-01-28"))
    assert deltas(plan.charges)[0] == ("charge", "2025-01-28", "2025-02-01", "2025-01-28", "5", "4/31", "7.74")


AMENDMENTS = [
    pytest.param(
        "2025-02-10", "11", "2025-02-10",
        [("charge", "2025-02-10", "2025-03-01", "2025-02-10", "3", "19/28", "40.71"),
         ("charge", "2025-03-01", "2025-04-01", "2025-03-01", "3", "31/31", "60.00")],
        [], id="increase-mid-period",
    ),
    pytest.param(
        "2025-02-10", "5", "2025-02-10",
        # 3 × 20.00 × 19/28 = 40.71 credited on the 8 seats billed for February; March is rescheduled at 5
        [("charge", "2025-03-01", "2025-04-01", "2025-03-01", "5", "31/31", "100.00")],
        [("credit", "2025-02-10", "2025-03-01", "2025-02-10", "3", "19/28", "-40.71")], id="decrease-mid-period",
    ),
    pytest.param(
        "2025-02-01", "11", "2025-02-01",
        [("charge", "2025-02-01", "2025-03-01", "2025-02-01", "3", "28/28", "60.00"),
         ("charge", "2025-03-01", "2025-04-01", "2025-03-01", "3", "31/31", "60.00")],
        [], id="increase-on-the-billing-day",
    ),
    pytest.param(
        "2025-02-01", "5", "2025-02-01",
        [("charge", "2025-03-01", "2025-04-01", "2025-03-01", "5", "31/31", "100.00")],
        [("credit", "2025-02-01", "2025-03-01", "2025-02-01", "3", "28/28", "-60.00")], id="decrease-on-the-billing-day",
    ),
    pytest.param(
        "2025-02-28", "11", "2025-02-28",
        [("charge", "2025-02-28", "2025-03-01", "2025-02-28", "3", "1/28", "2.14"),
         ("charge", "2025-03-01", "2025-04-01", "2025-03-01", "3", "31/31", "60.00")],
        [], id="increase-on-the-last-day",
    ),
    pytest.param(
        "2025-02-28", "5", "2025-02-28",
        [("charge", "2025-03-01", "2025-04-01", "2025-03-01", "5", "31/31", "100.00")],
        [("credit", "2025-02-28", "2025-03-01", "2025-02-28", "3", "1/28", "-2.14")], id="decrease-on-the-last-day",
    ),
]


@pytest.mark.parametrize(("effective", "quantity", "today", "charges", "credits"), AMENDMENTS)
def test_seat_changes_in_a_billed_period(effective, quantity, today, charges, credits):
    ledger = seats()
    ledger.bill(d("2025-02-01"))  # January and February billed, 8 seats each
    plan = ledger.amend(effective=d(effective), quantity=Decimal(quantity), today=d(today))
    assert deltas(plan.charges) == charges
    assert deltas(plan.credits) == credits
    if Decimal(quantity) < 8:
        assert deltas(plan.cancelled) == [("charge", "2025-03-01", "2025-04-01", "2025-03-01", "8", "31/31", "160.00")]
    else:
        assert plan.cancelled == []


def test_an_increase_then_a_decrease_in_the_same_period():
    ledger = seats()
    ledger.bill(d("2025-01-01"))
    ledger.amend(effective=d("2025-01-11"), quantity=Decimal("12"), today=d("2025-01-11"))
    ledger.bill(d("2025-01-11"))  # +4 × 21/31 = 54.19 billed
    plan = ledger.amend(effective=d("2025-01-21"), quantity=Decimal("9"), today=d("2025-01-21"))
    # 3 removed, last in first out: from the 4 added seats, for the 11 days left
    assert deltas(plan.credits) == [("credit", "2025-01-21", "2025-02-01", "2025-01-21", "3", "11/31", "-21.29")]
    assert plan.credits[0].credits == 4
    # the pending +4 of February and March lose 3 each: cancelled, replaced by +1
    assert deltas(plan.cancelled) == [
        ("charge", "2025-02-01", "2025-03-01", "2025-02-01", "4", "28/28", "80.00"),
        ("charge", "2025-03-01", "2025-04-01", "2025-03-01", "4", "31/31", "80.00"),
    ]
    assert deltas(plan.charges) == [
        ("charge", "2025-02-01", "2025-03-01", "2025-02-01", "1", "28/28", "20.00"),
        ("charge", "2025-03-01", "2025-04-01", "2025-03-01", "1", "31/31", "20.00"),
    ]
    ledger.bill(d("2025-03-31"))
    # 8 × 3 months + 4 seats for 10 days + 1 seat for 11 days + 1 seat × 2 months
    assert ledger.total(BILLED) == Decimal("480.00") + Decimal("54.19") - Decimal("21.29") + Decimal("40.00")


def test_an_increase_not_yet_billed_then_a_decrease_cuts_the_pending_delta():
    ledger = seats()
    ledger.bill(d("2025-01-01"))
    ledger.amend(effective=d("2025-01-11"), quantity=Decimal("12"), today=d("2025-01-11"))
    plan = ledger.amend(effective=d("2025-01-21"), quantity=Decimal("9"), today=d("2025-01-11"))
    assert plan.credits == []
    assert deltas(plan.replacements) == [("charge", "2025-01-11", "2025-01-21", "2025-01-11", "4", "10/31", "25.81")]
    assert deltas(plan.charges)[0] == ("charge", "2025-01-21", "2025-02-01", "2025-01-11", "1", "11/31", "7.10")


def test_a_cancellation_after_an_increase_leaves_nothing_pending():
    ledger = seats()
    ledger.bill(d("2025-01-01"))
    ledger.amend(effective=d("2025-01-11"), quantity=Decimal("11"), today=d("2025-01-11"))
    ledger.bill(d("2025-02-01"))
    plan = ledger.amend(effective=d("2025-02-15"), quantity=Decimal("0"), today=d("2025-02-15"))
    # both layers of February are credited for the 14 days left; March (8 and +3) is cancelled
    assert deltas(plan.credits) == [
        ("credit", "2025-02-15", "2025-03-01", "2025-02-15", "8", "14/28", "-80.00"),
        ("credit", "2025-02-15", "2025-03-01", "2025-02-15", "3", "14/28", "-30.00"),
    ]
    assert plan.charges == [] and plan.replacements == []
    assert ledger.total(PENDING) == Decimal("-110.00")
    ledger.bill(d("2025-02-15"))
    assert ledger.total(PENDING) == 0
    # 8 seats for 1.5 months + 3 seats for 21/31 of January and half of February
    assert ledger.total(BILLED) == Decimal("240.00") + Decimal("40.65") + Decimal("30.00")


def test_a_backdated_amendment_bills_everything_on_the_amendment_date():
    ledger = seats()
    ledger.bill(d("2025-02-01"))
    plan = ledger.amend(effective=d("2025-01-21"), quantity=Decimal("5"), today=d("2025-02-05"))
    assert deltas(plan.credits) == [
        ("credit", "2025-01-21", "2025-02-01", "2025-02-05", "3", "11/31", "-21.29"),
        ("credit", "2025-02-01", "2025-03-01", "2025-02-05", "3", "28/28", "-60.00"),
    ]
    assert {e.bill_on for e in plan.new_entries if e.period_start < d("2025-03-01")} == {d("2025-02-05")}


@pytest.mark.parametrize(
    ("day_count", "boundary", "expected"),
    [
        # 30/360: 21 Jan → 1 Feb counts 10 of 30 days
        ("thirty_360", "anniversary", ("charge", "2025-01-21", "2025-02-01", "2025-01-21", "3", "10/30", "20.00")),
        # calendar months: the same January, 11 of 31 days
        ("actual_days", "calendar", ("charge", "2025-01-21", "2025-02-01", "2025-01-21", "3", "11/31", "21.29")),
    ],
)
def test_add_seats_under_thirty_360_and_calendar_rules(day_count, boundary, expected):
    ledger = seats(day_count=day_count, boundary=boundary)
    ledger.bill(d("2025-01-01"))
    plan = ledger.amend(effective=d("2025-01-21"), quantity=Decimal("11"), today=d("2025-01-21"))
    assert deltas(plan.charges)[0] == expected
    assert len(plan.charges) == 3


def test_a_pending_period_straddling_the_effective_date_is_cut_not_credited():
    ledger = Ledger(terms=terms(frequency_months=3, billing_type="arrears", unit_price=Decimal("1200")),
                    quantity=Decimal("2"), start=d("2025-01-01"), end=d("2025-07-01"))
    plan = ledger.amend(effective=d("2025-02-15"), quantity=Decimal("0"), today=d("2025-02-01"))
    assert rows(plan.cancelled) == [
        ("2025-01-01", "2025-04-01", "2025-04-01", "90/90", "600.00"),
        ("2025-04-01", "2025-07-01", "2025-07-01", "91/91", "600.00"),
    ]
    # billed in arrears: the part served before the 15th is billed on the 15th
    assert rows(plan.replacements) == [("2025-01-01", "2025-02-15", "2025-02-15", "45/90", "300.00")]
    assert plan.credits == [] and plan.charges == []


def test_credit_is_billed_on_the_activation_day_when_the_effective_date_is_past():
    ledger = Ledger(terms=terms(unit_price=Decimal("120")), quantity=Decimal("1"), start=d("2025-01-01"), end=d("2025-03-01"))
    ledger.bill(d("2025-02-01"))
    plan = ledger.amend(effective=d("2025-01-11"), quantity=Decimal("0"), today=d("2025-02-05"))
    assert [(e.period_start.isoformat(), e.period_end.isoformat(), e.bill_on.isoformat(), str(e.amount)) for e in plan.credits] == [
        ("2025-01-11", "2025-02-01", "2025-02-05", "-6.77"),
        ("2025-02-01", "2025-03-01", "2025-02-05", "-10.00"),
    ]


PRICE = Decimal("1200.00")


def published_2019_case():
    """Annual in advance, 36 months from 2019-12-01 at 75; to 95 on 2020-01-15; to 0 on 2020-01-31."""
    t = terms(anchor=d("2019-12-01"), frequency_months=12, unit_price=PRICE)
    ledger = Ledger(terms=t, quantity=Decimal("75"), start=d("2019-12-01"), end=d("2022-12-01"))
    return ledger


def test_published_2019_regression_ends_with_nothing_pending():
    """Salesforce known issue W-5805301: an amendment then a cancellation left amounts to bill."""
    ledger = published_2019_case()
    assert ledger.table() == [
        ("charge", "2019-12-01", "2020-12-01", "366/366", "90000.00"),
        ("charge", "2020-12-01", "2021-12-01", "365/365", "90000.00"),
        ("charge", "2021-12-01", "2022-12-01", "365/365", "90000.00"),
    ]
    ledger.bill(d("2019-12-01"))
    ledger.amend(effective=d("2020-01-15"), quantity=Decimal("95"), today=d("2020-01-15"))
    ledger.bill(d("2020-01-15"))
    ledger.amend(effective=d("2020-01-31"), quantity=Decimal("0"), today=d("2020-01-31"))
    ledger.bill(d("2020-01-31"))
    assert ledger.table() == [
        ("charge", "2019-12-01", "2020-12-01", "366/366", "90000.00"),
        ("charge", "2020-12-01", "2021-12-01", "365/365", "90000.00"),
        ("charge", "2021-12-01", "2022-12-01", "365/365", "90000.00"),
        # to 95 on 15 Jan: only the 20 added units, for 321 of 366 days and every later year
        ("charge", "2020-01-15", "2020-12-01", "321/366", "21049.18"),
        ("charge", "2020-12-01", "2021-12-01", "365/365", "24000.00"),
        ("charge", "2021-12-01", "2022-12-01", "365/365", "24000.00"),
        # to 0 on 31 Jan: each layer credited for its 305 days left, the 20 added units first
        ("credit", "2020-01-31", "2020-12-01", "305/366", "-75000.00"),
        ("credit", "2020-01-31", "2020-12-01", "305/366", "-20000.00"),
    ]
    statuses = [e.status for e in ledger.rows]
    assert statuses == [BILLED, CANCELLED, CANCELLED, BILLED, CANCELLED, CANCELLED, BILLED, BILLED]
    assert ledger.total(PENDING) == Decimal("0")
    served = Fraction(PRICE) * (75 * Fraction(45, 366) + 95 * Fraction(16, 366))
    assert ledger.total(BILLED) == Decimal("16049.18")
    assert abs(Fraction(ledger.total(BILLED)) - served) <= Fraction(1, 100) * len(ledger.live())


# ---------------------------------------------------------------- property: no residue, ever


@st.composite
def start_dates(draw):
    year = draw(st.integers(2019, 2027))
    month = draw(st.integers(1, 12))
    day = min(draw(st.one_of(st.integers(1, 31), st.sampled_from([28, 29, 30, 31]))), calendar.monthrange(year, month)[1])
    return date(year, month, day)


@st.composite
def cases(draw):
    start = draw(start_dates())
    term = draw(st.sampled_from([3, 12, 13, 24, 36]))
    t = terms(
        anchor=start, unit_price=Decimal(draw(st.integers(1, 500_000))) / 100,
        price_term_months=draw(st.sampled_from([1, 12, 24])), frequency_months=draw(st.sampled_from([1, 3, 6, 12])),
        billing_type=draw(st.sampled_from(["advance", "arrears"])),
        boundary=draw(st.sampled_from(["anniversary", "billing_day", "calendar"])),
        day_count=draw(st.sampled_from(["actual_days", "thirty_360"])),
        billing_day=draw(st.one_of(st.integers(1, 31), st.sampled_from([29, 30, 31]))),
    )
    from catalog.pricing import add_months

    end = add_months(anchor=start, months=term)
    days = (end - start).days
    steps = draw(
        st.lists(
            st.tuples(st.integers(0, days - 1), st.integers(0, 150), st.integers(0, days + 40)), min_size=1, max_size=4
        )
    )
    return t, start, end, Decimal(draw(st.integers(1, 120))), steps


@settings(deadline=None, max_examples=100)
@given(cases())
def test_any_sequence_of_amendments_bills_exactly_the_time_served(case):
    t, start, end, quantity, steps = case
    ledger = Ledger(terms=t, quantity=quantity, start=start, end=end)
    applied = []
    clock = start
    for offset, new_quantity, bill_offset in steps:
        clock = max(clock, start + timedelta(days=bill_offset))
        ledger.bill(clock)
        effective = start + timedelta(days=offset)
        plan = ledger.amend(effective=effective, quantity=Decimal(new_quantity), today=clock)
        # One amendment, one billing date for everything it writes for billed time.
        assert {e.bill_on for e in plan.credits} <= {max(effective, clock)}
        applied.append((effective, Decimal(new_quantity)))
        if new_quantity == 0:
            break  # the subscription is cancelled: nothing more to amend
    ledger.bill(end + timedelta(days=400))

    assert ledger.total(PENDING) == 0
    # Never more credited than billed, charge by charge.
    for charge in ledger.live():
        if charge.kind == "charge":
            credited = sum((c.amount for c in ledger.live() if c.credits == charge.id), Decimal("0"))
            assert charge.amount + credited >= 0
    # What was billed is price × quantity × time served, within one minor unit per entry.
    cuts = sorted({e for e, _q in applied})
    served = Fraction(0)
    for period in billing_periods(start=start, end=end, frequency_months=t.frequency_months, boundary=t.boundary,
                                  billing_day=t.billing_day):
        edges = [period.start, *[c for c in cuts if period.start < c < period.end], period.end]
        for a, b in zip(edges, edges[1:], strict=False):
            q = quantity
            for effective, new_quantity in applied:
                if a >= effective:
                    q = new_quantity
            factor = proration_factor(piece_start=a, piece_end=b, full_start=period.full_start,
                                      full_end=period.full_end, day_count=t.day_count)
            served += Fraction(t.unit_price) * Fraction(q) * t.period_share() * factor.value
    billed = ledger.total(BILLED)
    assert abs(Fraction(billed) - served) <= Fraction(1, 100) * max(len(ledger.live()), 1)
    assert billed == round_money(billed, "EUR")
