"""The recognition rules: the public example, a table of exact rows, and properties."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounting.recognition import RecognitionError, Row, recognition_rows

D = Decimal
MONTHS_2025 = [(date(2025, m, 1), date(2025 + (m == 12), m % 12 + 1, 1)) for m in range(1, 13)]


def amounts(rows):
    return [r.amount for r in rows]


def test_daily_public_example_365_over_2025():
    rows = recognition_rows(
        rule="daily", net_amount=D("365.00"), currency="EUR", service_start=date(2025, 1, 1), service_end=date(2026, 1, 1)
    )
    assert [(r.period_start, r.period_end) for r in rows] == MONTHS_2025
    assert amounts(rows) == [D(x) for x in ("31.00", "28.00", "31.00", "30.00", "31.00", "30.00", "31.00", "31.00",
                                            "30.00", "31.00", "30.00", "31.00")]
    # Deferred at the end of January: 365.00 − 31.00.
    assert D("365.00") - rows[0].amount == D("334.00")


def test_monthly_even_public_example():
    rows = recognition_rows(
        rule="monthly_even", net_amount=D("365.00"), currency="EUR", service_start=date(2025, 1, 1), service_end=date(2026, 1, 1)
    )
    assert amounts(rows) == [D("30.42")] * 11 + [D("30.38")]
    assert rows[-1] == Row(date(2025, 12, 1), date(2026, 1, 1), D("30.38"))


@pytest.mark.parametrize(
    ("rule", "net", "start", "end", "at", "expected"),
    [
        # 100.00 over 15 Jan → 15 Feb (31 days): 17 days in January, 14 in February.
        ("daily", "100.00", date(2025, 1, 15), date(2025, 2, 15), None,
         [(date(2025, 1, 1), "54.84"), (date(2025, 2, 1), "45.16")]),
        # Anniversary months 15 Jan → 15 Apr: three equal months, each in the period of its first day.
        ("monthly_even", "100.00", date(2025, 1, 15), date(2025, 4, 15), None,
         [(date(2025, 1, 1), "33.33"), (date(2025, 2, 1), "33.33"), (date(2025, 3, 1), "33.34")]),
        # 17/31 of January + February in full + 14/30 of April... here 15 Jan → 15 Mar:
        # weights 17/31, 1, 14/31 = 2 months, so 27.42 / 50.00 / rest 22.58.
        ("monthly_prorated", "100.00", date(2025, 1, 15), date(2025, 3, 15), None,
         [(date(2025, 1, 1), "27.42"), (date(2025, 2, 1), "50.00"), (date(2025, 3, 1), "22.58")]),
        ("at_date", "250.00", date(2025, 1, 1), date(2026, 1, 1), date(2025, 3, 10), [(date(2025, 3, 1), "250.00")]),
        ("usage", "42.17", date(2025, 1, 15), date(2025, 2, 15), None, [(date(2025, 2, 1), "42.17")]),
        # A one-time line without a service period is recognized on its date whatever the rule.
        ("daily", "99.99", None, None, date(2025, 5, 31), [(date(2025, 5, 1), "99.99")]),
        # Negative nets (credits) spread the same way.
        ("daily", "-365.00", date(2025, 1, 1), date(2025, 3, 1), None, [(date(2025, 1, 1), "-191.78"), (date(2025, 2, 1), "-173.22")]),
        # JPY has no minor unit.
        ("monthly_even", "1000", date(2025, 1, 1), date(2025, 4, 1), None,
         [(date(2025, 1, 1), "333"), (date(2025, 2, 1), "333"), (date(2025, 3, 1), "334")]),
    ],
)
def test_rule_table(rule, net, start, end, at, expected):
    currency = "JPY" if net == "1000" else "EUR"
    rows = recognition_rows(rule=rule, net_amount=D(net), currency=currency, service_start=start, service_end=end, at_date=at)
    assert [(r.period_start, r.amount) for r in rows] == [(p, D(a)) for p, a in expected]


def test_four_four_five_periods_are_used_when_given():
    periods = [(date(2025, 1, 1), date(2025, 1, 29)), (date(2025, 1, 29), date(2025, 2, 26)), (date(2025, 2, 26), date(2025, 4, 2))]
    rows = recognition_rows(
        rule="daily", net_amount=D("91.00"), currency="EUR", service_start=date(2025, 1, 1), service_end=date(2025, 4, 2),
        periods=periods,
    )
    assert [(r.period_start, r.amount) for r in rows] == [(date(2025, 1, 1), D("28.00")), (date(2025, 1, 29), D("28.00")),
                                                          (date(2025, 2, 26), D("35.00"))]


def test_unknown_rule_is_refused_by_name():
    with pytest.raises(RecognitionError, match="Unknown recognition rule “weekly”."):
        recognition_rows(rule="weekly", net_amount=D("1"), currency="EUR", service_start=None, service_end=None,
                         at_date=date(2025, 1, 1))


def test_inverted_period_is_refused_with_its_dates():
    with pytest.raises(RecognitionError, match="The service period 2025-02-01–2025-01-01 ends before it starts."):
        recognition_rows(rule="daily", net_amount=D("1"), currency="EUR", service_start=date(2025, 2, 1),
                         service_end=date(2025, 1, 1))


@settings(max_examples=300, deadline=None)
@given(
    rule=st.sampled_from(["daily", "monthly_even", "monthly_prorated", "at_date", "usage"]),
    cents=st.integers(min_value=-10**9, max_value=10**9),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    days=st.integers(min_value=1, max_value=1200),
)
def test_rows_sum_exactly_to_the_net_in_order(rule, cents, start, days):
    net = D(cents).scaleb(-2)
    end = start + timedelta(days=days)
    rows = recognition_rows(rule=rule, net_amount=net, currency="EUR", service_start=start, service_end=end, at_date=start)
    assert sum(amounts(rows), D(0)) == net
    assert all(r.amount == r.amount.quantize(D("0.01")) for r in rows)
    assert [r.period_start for r in rows] == sorted({r.period_start for r in rows})
    # Each row is within one cent of its exact share except the last, which holds the residue.
    if rule == "daily":
        for r in rows[:-1]:
            inside = (min(r.period_end, end) - max(r.period_start, start)).days
            assert abs(r.amount - net * inside / days) <= D("0.005")
