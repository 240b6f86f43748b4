"""The price preview: exact lines, factors and totals; the product page and the API show the same."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from billing_site.errors import ValidationFailed
from catalog.selectors import entry_for, pricing_preview
from catalog.tests.factories import BillingRuleFactory, PriceBookFactory, ProductFactory, make_entry

pytestmark = pytest.mark.django_db
D = Decimal


def d(text: str) -> date:
    return date.fromisoformat(text)


def lines(preview):
    return [(line.start, line.end, str(line.factor) if line.factor else None, line.bill_on, line.amount) for line in preview.lines]


@pytest.fixture
def eur():
    return PriceBookFactory(name="Standard EUR", currency="EUR", is_standard=True)


def test_recurring_anniversary_bills_its_share_of_the_term_price_per_period(eur):
    product = ProductFactory(billing_frequency=1)
    entry = make_entry(product, eur, unit_price="1200.00")  # per seat, for the 12-month default term
    preview = pricing_preview(entry=entry, quantity=D("2"), start=d("2025-01-15"), end=d("2025-04-15"))
    assert preview.extended_price == D("2400.000000")
    assert preview.period_multiplier_display == "1/12 = 0.083333"
    assert preview.period_price == D("200.000000")
    assert lines(preview) == [
        (d("2025-01-15"), d("2025-02-15"), "31/31 = 1.000000", d("2025-01-15"), D("200.00")),
        (d("2025-02-15"), d("2025-03-15"), "28/28 = 1.000000", d("2025-02-15"), D("200.00")),
        (d("2025-03-15"), d("2025-04-15"), "31/31 = 1.000000", d("2025-03-15"), D("200.00")),
    ]
    assert (preview.total_amount, preview.quote_amount, preview.periods_display) == (D("600.00"), D("600.00"), "3")


def test_billing_day_prorates_the_first_piece_by_actual_days(eur):
    rule = BillingRuleFactory(period_boundary="billing_day", day_count="actual_days")
    product = ProductFactory(billing_rule=rule, billing_frequency=1)
    entry = make_entry(product, eur, unit_price="1200.00")
    preview = pricing_preview(entry=entry, quantity=D("1"), start=d("2025-01-24"), end=d("2025-04-01"), billing_day=1)
    assert lines(preview) == [
        (d("2025-01-24"), d("2025-02-01"), "8/31 = 0.258065", d("2025-01-24"), D("25.81")),
        (d("2025-02-01"), d("2025-03-01"), "28/28 = 1.000000", d("2025-02-01"), D("100.00")),
        (d("2025-03-01"), d("2025-04-01"), "31/31 = 1.000000", d("2025-03-01"), D("100.00")),
    ]
    assert preview.lines[0].last_day == d("2025-01-31")
    assert (preview.total_amount, preview.quote_amount, preview.periods_display) == (D("225.81"), D("225.81"), "70/31 = 2.258065")


def test_calendar_quarters_with_thirty_360_and_a_tiered_price_in_arrears(eur):
    rule = BillingRuleFactory(period_boundary="calendar", day_count="thirty_360")
    product = ProductFactory(billing_rule=rule, billing_frequency=3, billing_type="arrears")
    entry = make_entry(product, eur, model="tiered", tiers=[("1", "11", "10.00"), ("11", None, "8.00", "5.00")])
    preview = pricing_preview(entry=entry, quantity=D("15"), start=d("2025-02-10"), end=d("2025-07-01"))
    assert [(s.label, s.units, s.unit_price, s.flat_fee, s.amount) for s in preview.rating] == [
        ("Tier 1 (1–10)", D("10"), D("10.000000"), D("0"), D("100.000000")),
        ("Tier 2 (11+)", D("5"), D("8.000000"), D("5.000000"), D("45.000000")),
    ]
    assert preview.extended_price == D("145.000000")
    assert preview.period_price == D("36.250000")
    assert lines(preview) == [
        (d("2025-02-10"), d("2025-04-01"), "51/90 = 0.566667", d("2025-04-01"), D("20.54")),
        (d("2025-04-01"), d("2025-07-01"), "90/90 = 1.000000", d("2025-07-01"), D("36.25")),
    ]
    assert (preview.total_amount, preview.quote_amount) == (D("56.79"), D("56.79"))


def test_a_one_time_product_is_priced_once(eur):
    product = ProductFactory(charge_type="one_time")
    entry = make_entry(product, eur, unit_price="1500.00")
    preview = pricing_preview(entry=entry, quantity=D("3"), start=d("2025-03-01"))
    assert lines(preview) == [(d("2025-03-01"), None, None, d("2025-03-01"), D("4500.00"))]
    assert preview.total_amount == D("4500.00")


def test_usage_is_rated_per_period_in_arrears_never_prorated(eur):
    product = ProductFactory(charge_type="usage", billing_type="arrears", unit_of_measure="call")
    entry = make_entry(
        product, eur, model="tiered",
        tiers=[("0", "1000", "0"), ("1000", "100000", "0.002"), ("100000", None, "0.001")],
    )
    preview = pricing_preview(entry=entry, quantity=D("250000"), start=d("2025-01-10"), end=d("2025-03-10"))
    assert [(s.label, s.units, s.amount) for s in preview.rating] == [
        ("Tier 1 (1–1000)", D("1000"), D("0")),
        ("Tier 2 (1001–100000)", D("99000"), D("198.000")),
        ("Tier 3 (100001+)", D("150000"), D("150.000")),
    ]
    assert lines(preview) == [
        (d("2025-01-10"), d("2025-02-10"), None, d("2025-02-10"), D("348.00")),
        (d("2025-02-10"), d("2025-03-10"), None, d("2025-03-10"), D("348.00")),
    ]
    assert preview.total_amount == D("696.00")


@pytest.mark.parametrize(
    ("model", "extra", "quantity", "rating", "amount"),
    [
        ("flat", {"unit_price": "99.00"}, "7", [("Flat price", None, D("99.00"))], D("99.00")),
        ("per_unit", {"unit_price": "4.50", "free_units": "2"}, "10",
         [("Free units", D("2"), D("0")), ("Units", D("8"), D("36.0000"))], D("36.00")),
        ("package", {"unit_price": "20.00", "package_size": "100"}, "250",
         [("Started packages of 100", D("3"), D("60.00"))], D("60.00")),
        ("volume", {"tiers": [("1", "11", "10.00"), ("11", None, "8.00", "5.00")]}, "15",
         [("Tier 2 (11+)", D("15"), D("125.00"))], D("125.00")),
        ("block", {"tiers": [("1", "11", "100.00"), ("11", "51", "300.00")]}, "11",
         [("Tier 2 (11–50) (block price)", None, D("300.00"))], D("300.00")),
    ],
)
def test_each_model_explains_its_rating(eur, model, extra, quantity, rating, amount):
    product = ProductFactory(charge_type="one_time")
    entry = make_entry(product, eur, model=model, **extra)
    preview = pricing_preview(entry=entry, quantity=D(quantity), start=d("2025-01-01"))
    assert [(s.label, s.units, s.amount) for s in preview.rating] == rating
    assert preview.total_amount == amount


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"quantity": D("0")}, {"quantity": ["Enter a quantity greater than 0."]}),
        ({"quantity": D("60")}, {"quantity": ["Quantity 60 is above the last tier, which ends at 50 units."]}),
        ({"end": d("2025-01-01")}, {"end": ["The end must be after the start."]}),
        ({"end": None}, {"end": ["Enter the end of the service (the first day not served)."]}),
    ],
)
def test_bad_preview_input_is_refused_on_its_field(eur, kwargs, fields):
    product = ProductFactory()
    entry = make_entry(product, eur, model="block", tiers=[("1", "11", "100.00"), ("11", "51", "300.00")])
    with pytest.raises(ValidationFailed) as caught:
        pricing_preview(**{"entry": entry, "quantity": D("5"), "start": d("2025-01-01"), "end": d("2026-01-01"), **kwargs})
    assert caught.value.fields == fields


def test_a_billing_day_rule_needs_the_billing_day(eur):
    product = ProductFactory(billing_rule=BillingRuleFactory(period_boundary="billing_day"))
    entry = make_entry(product, eur, unit_price="10")
    with pytest.raises(ValidationFailed) as caught:
        pricing_preview(entry=entry, quantity=D("1"), start=d("2025-01-01"), end=d("2025-02-01"))
    assert caught.value.fields == {"billing_day": ["This billing rule bills on the account's billing day: enter it (1–31)."]}


def test_the_product_page_and_the_api_show_the_same_breakdown(finance_client, finance_api, eur):
    rule = BillingRuleFactory(period_boundary="billing_day")
    product = ProductFactory(billing_rule=rule, name="Analytics seats")
    make_entry(product, eur, model="tiered", tiers=[("1", "11", "1200.00"), ("11", None, "960.00")])
    params = {"book": eur.pk, "quantity": "12", "start": "2025-01-24", "end": "2026-01-24", "billing_day": "1"}
    page = finance_client.get(reverse("catalog:product-detail", args=[product.pk]), params)
    api = finance_api.post(
        "/api/v1/pricing/preview",
        {"product": product.pk, "price_book": eur.pk, "quantity": "12", "start": "2025-01-24", "end": "2026-01-24", "billing_day": 1},
        format="json",
    )
    assert api.status_code == 200, api.json()
    assert page.context["preview"].as_dict() == api.json()
    body = api.json()
    assert body["extended_price"] == "13920"  # 10 × 1200 + 2 × 960
    assert [(x["start"], x["last_day"], x["factor"], x["amount"]) for x in body["lines"][:2]] == [
        ("2025-01-24", "2025-01-31", "8/31 = 0.258065", "299.35"),
        ("2025-02-01", "2025-02-28", "28/28 = 1.000000", "1160.00"),
    ]
    assert (body["total_amount"], body["quote_amount"], body["periods"]) == ("13920.00", "13920.00", "12")
    html = page.content.decode()
    assert "8/31 = 0.258065" in html and "€299.35" in html and "€13,920.00" in html
    partial = finance_client.get(reverse("catalog:pricing-preview", args=[product.pk]), params)
    assert partial.context["preview"].as_dict() == body
    assert "<html" not in partial.content.decode()


def test_the_api_names_a_missing_price(finance_api, eur):
    product = ProductFactory(name="Unpriced")
    response = finance_api.post(
        "/api/v1/pricing/preview", {"product": product.pk, "price_book": eur.pk, "quantity": "1", "start": "2025-01-01"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"price_book": ["Unpriced has no active price in Standard EUR."]}


def test_entry_for_ignores_inactive_prices(eur):
    product = ProductFactory()
    make_entry(product, eur, unit_price="1", active=False)
    assert entry_for(product=product, price_book=eur) is None
