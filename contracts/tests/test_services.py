"""Orders, activation, amendments and the schedule services, through the real services."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from billing_site.errors import InvalidTransition, ValidationFailed
from billing_site.models import AuditLog
from contracts import selectors, services
from contracts.models import AmendmentType, Contract, Order, ScheduleEntry, Subscription
from contracts.services import AmendmentRequest
from contracts.tests.factories import Catalog, draft_order
from customers.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def catalog():
    return Catalog()


def table(contract, status=None):
    qs = ScheduleEntry.objects.filter(contract=contract).order_by("id")
    if status:
        qs = qs.filter(status=status)
    return [
        (e.kind, e.status, e.period_start.isoformat(), e.period_end.isoformat(), f"{e.factor_numerator}/{e.factor_denominator}",
         str(e.amount))
        for e in qs
    ]


def bill(target, contract=None):
    """What invoicing does: take the due entries and mark them billed, all or nothing."""
    qs = selectors.due_entries(target_date=target)
    if contract is not None:
        qs = qs.filter(contract=contract)
    ids = [e.pk for e in qs]
    assert services.schedule_entries_mark_billed(entry_ids=ids, billed_at=timezone.now()) == len(ids)
    return ids


def test_activation_creates_contract_subscriptions_and_schedule(catalog, finance_user):
    monthly = catalog.product("support-monthly", price="120.00", frequency=1)
    setup = catalog.product("setup-fee", price="500.00", charge_type="one_time", frequency=1)
    order = draft_order(catalog=catalog, start=date(2025, 1, 31), term=3, products=[(monthly, 2), (setup, 1)])
    contract = services.order_activate(order=order, actor=finance_user, today=date(2025, 1, 20))
    assert contract.number == f"CTR-{contract.pk:05d}"
    assert (contract.start_date, contract.end_date, contract.term_months, contract.currency) == (
        date(2025, 1, 31), date(2025, 4, 30), 3, "EUR"
    )
    subs = list(contract.subscriptions.order_by("id"))
    assert [(s.product.sku, s.quantity, s.unit_price, s.billing_frequency, s.period_boundary) for s in subs] == [
        ("support-monthly", D("2"), D("120"), 1, "anniversary"),
        ("setup-fee", D("1"), D("500"), 1, "anniversary"),
    ]
    assert table(contract) == [
        ("charge", "pending", "2025-01-31", "2025-02-28", "28/28", "20.000000"),
        ("charge", "pending", "2025-02-28", "2025-03-31", "31/31", "20.000000"),
        ("charge", "pending", "2025-03-31", "2025-04-30", "30/30", "20.000000"),
        ("one_time", "pending", "2025-01-31", "2025-02-01", "1/1", "500.000000"),
    ]
    order.refresh_from_db()
    assert (order.status, order.contract_id, order.activated_by) == (Order.Status.ACTIVATED, contract.pk, finance_user)
    assert AuditLog.objects.filter(object_type="contracts.order", object_id=str(order.pk), action="activated").count() == 1


def test_activating_twice_returns_the_same_contract(catalog, finance_user):
    order = draft_order(catalog=catalog, products=[(catalog.product("seat"), 1)])
    first = services.order_activate(order=order, actor=finance_user, today=date(2025, 1, 1))
    second = services.order_activate(order=order, actor=finance_user, today=date(2025, 1, 1))
    assert first.pk == second.pk
    assert Contract.objects.count() == 1 and ScheduleEntry.objects.count() == 1


def test_activation_refuses_an_order_without_products(catalog):
    order = draft_order(catalog=catalog)
    with pytest.raises(ValidationFailed) as exc:
        services.order_activate(order=order, actor=None, today=date(2025, 1, 1))
    assert str(exc.value) == "Add at least one product before activating the order."
    assert Contract.objects.count() == 0


def test_a_product_in_another_currency_is_refused(catalog):
    usd_only = catalog.product("us-only", books=("usd",))
    order = draft_order(catalog=catalog)
    with pytest.raises(ValidationFailed) as exc:
        services.order_product_add(order=order, actor=None, product=usd_only, quantity=D("1"))
    assert exc.value.fields == {"product": ["Us Only is priced in USD, not in the contract's currency (EUR)."]}
    assert order.products.count() == 0


# ---------------------------------------------------------------- the published 2019 regression


def test_published_2019_regression_through_the_services(catalog, finance_user):
    """Salesforce known issue W-5805301. Annual in advance, 36 months from 2019-12-01 at 75 × 1,200.00; 95 from 2020-01-15; 0 from 2020-01-31."""
    product = catalog.product("platform-annual", price="1200.00", frequency=12)
    order = draft_order(catalog=catalog, start=date(2019, 12, 1), term=36, products=[(product, 75)])
    contract = services.order_activate(order=order, actor=finance_user, today=date(2019, 12, 1))
    sub = contract.subscriptions.get()
    bill(date(2019, 12, 1))
    up = services.contract_amend(
        contract=contract, actor=finance_user, today=date(2020, 1, 15),
        request=AmendmentRequest(type=AmendmentType.ADD_QUANTITY, effective_date=date(2020, 1, 15), subscription=sub, quantity=D("20")),
    )
    assert [(p.quantity, p.subscription_id) for p in up.products.all()] == [(D("20"), sub.pk)]
    bill(date(2020, 1, 15))
    sub.refresh_from_db()
    assert sub.quantity == D("95")
    down = services.contract_amend(
        contract=contract, actor=finance_user, today=date(2020, 1, 31),
        request=AmendmentRequest(type=AmendmentType.REDUCE_QUANTITY, effective_date=date(2020, 1, 31), subscription=sub, quantity=D("95")),
    )
    bill(date(2020, 1, 31))
    assert table(contract) == [
        ("charge", "billed", "2019-12-01", "2020-12-01", "366/366", "90000.000000"),
        ("charge", "cancelled", "2020-12-01", "2021-12-01", "365/365", "90000.000000"),
        ("charge", "cancelled", "2021-12-01", "2022-12-01", "365/365", "90000.000000"),
        # +20 from 15 Jan: only the added units, for the rest of the billed year and the later years
        ("charge", "billed", "2020-01-15", "2020-12-01", "321/366", "21049.180000"),
        ("charge", "cancelled", "2020-12-01", "2021-12-01", "365/365", "24000.000000"),
        ("charge", "cancelled", "2021-12-01", "2022-12-01", "365/365", "24000.000000"),
        # to 0 from 31 Jan: each layer credited for its 305 days left, the added units first
        ("credit", "billed", "2020-01-31", "2020-12-01", "305/366", "-75000.000000"),
        ("credit", "billed", "2020-01-31", "2020-12-01", "305/366", "-20000.000000"),
    ]
    assert [(e.quantity_display, e.credits_id) for e in ScheduleEntry.objects.filter(contract=contract, is_delta=True).order_by("id")] == [
        ("+20", None), ("+20", None), ("+20", None), ("−75", sub.schedule.order_by("id").first().pk),
        ("−20", sub.schedule.get(period_start=date(2020, 1, 15)).pk),
    ]
    entries = ScheduleEntry.objects.filter(contract=contract)
    assert sum(e.amount for e in entries if e.status == "pending") == 0
    billed = sum(e.amount for e in entries if e.status == "billed")
    assert billed == D("16049.18")  # 1,200 × (75 × 45/366 + 95 × 16/366) = 16,049.1803…
    cancelled = entries.filter(status="cancelled").values_list("cancelled_by__number", flat=True)
    assert sorted(cancelled) == sorted([down.number] * 4)
    sub.refresh_from_db()
    assert (sub.status, sub.end_date, sub.quantity) == (Subscription.Status.CANCELLED, date(2020, 1, 31), D("0"))
    assert selectors.why_not_billed(subscription=sub, target_date=date(2030, 1, 1)) == [
        "The subscription was cancelled on 2020-01-31.", "Nothing is left to bill on this subscription.",
    ]


# ---------------------------------------------------------------- amendments


@pytest.fixture
def monthly_contract(catalog, finance_user):
    product = catalog.product("seat-monthly", price="120.00", frequency=1)
    order = draft_order(catalog=catalog, start=date(2025, 1, 1), term=6, products=[(product, 10)])
    return services.order_activate(order=order, actor=finance_user, today=date(2025, 1, 1))


def test_preview_shows_exactly_what_the_amendment_writes(monthly_contract, finance_user):
    bill(date(2025, 1, 1))
    sub = monthly_contract.subscriptions.get()
    request = AmendmentRequest(type=AmendmentType.ADD_QUANTITY, effective_date=date(2025, 1, 21), subscription=sub, quantity=D("5"))
    preview = services.contract_amendment_preview(contract=monthly_contract, request=request, today=date(2025, 1, 21))
    (item,) = preview.items
    # January is billed: only the 5 added seats for its 11 days left, then +5 in every later month
    assert item.plan.credits == [] and item.plan.cancelled == []
    assert [(e.period_start, e.quantity_display, str(e.factor), e.amount) for e in item.plan.charges] == [
        (date(2025, 1, 21), "+5", "11/31 = 0.354839", D("17.74")), (date(2025, 2, 1), "+5", "28/28 = 1.000000", D("50.00")),
        (date(2025, 3, 1), "+5", "31/31 = 1.000000", D("50.00")), (date(2025, 4, 1), "+5", "30/30 = 1.000000", D("50.00")),
        (date(2025, 5, 1), "+5", "31/31 = 1.000000", D("50.00")), (date(2025, 6, 1), "+5", "30/30 = 1.000000", D("50.00")),
    ]
    assert (preview.cancelled_amount, preview.credits_amount, preview.charges_amount, preview.net_amount) == (
        D("0"), D("0"), D("267.74"), D("267.74")
    )
    assert ScheduleEntry.objects.filter(contract=monthly_contract).count() == 6  # nothing written
    order = services.contract_amend(contract=monthly_contract, request=request, actor=finance_user, today=date(2025, 1, 21))
    written = ScheduleEntry.objects.filter(contract=monthly_contract, source_order__type=Order.Type.AMENDMENT).order_by("id")
    assert [(e.kind, e.period_start, e.amount, e.is_delta) for e in written] == [
        ("charge", e.period_start, e.amount, True) for e in item.plan.charges
    ]
    assert [(p.quantity, p.total_amount) for p in order.products.all()] == [(D("5"), D("267.74"))]
    (effect,) = selectors.amendment_effects(contract=monthly_contract)
    assert (effect.order, len(effect.charges), effect.cancelled, effect.kept, effect.net_amount) == (order, 6, [], [], D("267.74"))


def test_effective_date_outside_the_contract_is_refused(monthly_contract):
    sub = monthly_contract.subscriptions.get()
    with pytest.raises(ValidationFailed) as exc:
        services.contract_amend(
            contract=monthly_contract, actor=None, today=date(2025, 1, 5),
            request=AmendmentRequest(type=AmendmentType.ADD_QUANTITY, effective_date=date(2025, 7, 1), subscription=sub, quantity=D("1")),
        )
    assert exc.value.fields == {"effective_date": ["The effective date must be within the contract (01/01/2025 to 06/30/2025)."]}
    assert Order.objects.filter(type=Order.Type.AMENDMENT).count() == 0


def test_reducing_below_zero_is_refused(monthly_contract):
    sub = monthly_contract.subscriptions.get()
    with pytest.raises(ValidationFailed) as exc:
        services.contract_amend(
            contract=monthly_contract, actor=None, today=date(2025, 1, 5),
            request=AmendmentRequest(type=AmendmentType.REDUCE_QUANTITY, effective_date=date(2025, 2, 1), subscription=sub, quantity=D("11")),
        )
    assert exc.value.fields == {"quantity": ["The quantity cannot go below zero: the subscription has 10."]}
    assert ScheduleEntry.objects.filter(status="cancelled").count() == 0


def test_cancel_the_whole_contract_leaves_nothing_pending_after_the_date(monthly_contract, catalog, finance_user):
    bill(date(2025, 2, 1))
    services.contract_amend(
        contract=monthly_contract, actor=finance_user, today=date(2025, 2, 10),
        request=AmendmentRequest(type=AmendmentType.CANCEL_CONTRACT, effective_date=date(2025, 2, 15)),
    )
    monthly_contract.refresh_from_db()
    assert (monthly_contract.status, monthly_contract.cancelled_on) == (Contract.Status.CANCELLED, date(2025, 2, 15))
    assert table(monthly_contract, status="pending") == [
        ("credit", "pending", "2025-02-15", "2025-03-01", "14/28", "-50.000000"),
    ]
    bill(date(2025, 2, 15))
    billed = sum(e.amount for e in ScheduleEntry.objects.filter(contract=monthly_contract, status="billed"))
    assert billed == D("150.00")  # January 100.00 + half of February 50.00
    with pytest.raises(InvalidTransition) as exc:
        services.contract_amend(
            contract=monthly_contract, actor=None, today=date(2025, 2, 20),
            request=AmendmentRequest(type=AmendmentType.CANCEL_CONTRACT, effective_date=date(2025, 3, 1)),
        )
    assert str(exc.value) == f"Contract {monthly_contract.number} is cancelled and cannot be amended."


def test_cancelling_after_an_increase_credits_each_layer_and_leaves_nothing_pending(monthly_contract, finance_user):
    bill(date(2025, 2, 1))
    sub = monthly_contract.subscriptions.get()
    services.contract_amend(
        contract=monthly_contract, actor=finance_user, today=date(2025, 2, 10),
        request=AmendmentRequest(type=AmendmentType.ADD_QUANTITY, effective_date=date(2025, 2, 10), subscription=sub, quantity=D("5")),
    )
    bill(date(2025, 2, 10))  # +5 × 10.00 × 19/28 = 33.93
    services.contract_amend(
        contract=monthly_contract, actor=finance_user, today=date(2025, 2, 15),
        request=AmendmentRequest(type=AmendmentType.CANCEL_CONTRACT, effective_date=date(2025, 2, 15)),
    )
    assert table(monthly_contract, status="pending") == [
        ("credit", "pending", "2025-02-15", "2025-03-01", "14/28", "-50.000000"),  # the 10 original seats
        ("credit", "pending", "2025-02-15", "2025-03-01", "14/28", "-25.000000"),  # the 5 added seats
    ]
    bill(date(2025, 2, 15))
    entries = ScheduleEntry.objects.filter(contract=monthly_contract)
    assert not entries.filter(status="pending").exists()
    # 10 seats for January and half of February, 5 seats from 10 to 15 February (5/28 of 50.00 = 8.93)
    assert sum(e.amount for e in entries.filter(status="billed")) == D("158.93")


def test_change_price_cancels_and_re_adds_from_the_effective_date(monthly_contract, finance_user):
    bill(date(2025, 1, 1))
    sub = monthly_contract.subscriptions.get()
    services.contract_amend(
        contract=monthly_contract, actor=finance_user, today=date(2025, 1, 1),
        request=AmendmentRequest(type=AmendmentType.CHANGE_PRICE, effective_date=date(2025, 1, 16), subscription=sub, unit_price=D("60")),
    )
    old, new = monthly_contract.subscriptions.order_by("id")
    assert (old.status, old.end_date, new.status, new.unit_price, new.start_date, new.period_anchor) == (
        "cancelled", date(2025, 1, 16), "active", D("60"), date(2025, 1, 16), date(2025, 1, 1)
    )
    assert [(e.kind, e.period_start.isoformat(), e.period_end.isoformat(), str(e.amount)) for e in new.schedule.order_by("id")][:2] == [
        ("charge", "2025-01-16", "2025-02-01", "25.810000"),  # 10 × 60/12 × 16/31
        ("charge", "2025-02-01", "2025-03-01", "50.000000"),
    ]
    assert [str(e.amount) for e in old.schedule.filter(kind="credit")] == ["-51.610000"]  # 100 × 16/31


def test_add_product_is_co_terminated_and_follows_the_contract_grid(monthly_contract, catalog, finance_user):
    addon = catalog.product("storage-quarterly", price="240.00", frequency=3)
    services.contract_amend(
        contract=monthly_contract, actor=finance_user, today=date(2025, 2, 1),
        request=AmendmentRequest(type=AmendmentType.ADD_PRODUCT, effective_date=date(2025, 2, 15), product=addon, quantity=D("1")),
    )
    new = monthly_contract.subscriptions.get(product=addon)
    assert [(e.period_start.isoformat(), e.period_end.isoformat(), f"{e.factor_numerator}/{e.factor_denominator}", str(e.amount))
            for e in new.schedule.order_by("id")] == [
        ("2025-02-15", "2025-04-01", "45/90", "30.000000"),
        ("2025-04-01", "2025-07-01", "91/91", "60.000000"),
    ]


def test_the_currency_of_an_added_product_must_be_the_contracts(monthly_contract, catalog):
    usd_only = catalog.product("us-addon", books=("usd",))
    with pytest.raises(ValidationFailed) as exc:
        services.contract_amendment_preview(
            contract=monthly_contract, today=date(2025, 2, 1),
            request=AmendmentRequest(type=AmendmentType.ADD_PRODUCT, effective_date=date(2025, 2, 15), product=usd_only, quantity=D("1")),
        )
    assert exc.value.fields == {"product": ["Us Addon is priced in USD, not in the contract's currency (EUR)."]}


# ---------------------------------------------------------------- what invoicing calls


def test_mark_billed_claims_each_entry_once_and_unbilled_gives_it_back(monthly_contract, finance_user):
    ids = list(ScheduleEntry.objects.filter(contract=monthly_contract).order_by("id").values_list("pk", flat=True)[:2])
    assert services.schedule_entries_mark_billed(entry_ids=ids, billed_at=timezone.now()) == 2
    assert services.schedule_entries_mark_billed(entry_ids=ids, billed_at=timezone.now()) == 0
    assert services.schedule_entries_mark_unbilled(entry_ids=ids, actor=finance_user) == 2
    assert set(ScheduleEntry.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"pending"}


def test_due_entries_honour_the_billing_rule(catalog):
    silent = catalog.product("internal", price="12.00", frequency=1, generate_invoices=False)
    loud = catalog.product("public", price="12.00", frequency=1)
    order = draft_order(catalog=catalog, start=date(2025, 1, 1), term=2, products=[(silent, 1), (loud, 1)])
    contract = services.order_activate(order=order, actor=None, today=date(2025, 1, 1))
    due = selectors.due_entries(target_date=date(2025, 1, 31))
    assert [(e.subscription.product.sku, e.period_start) for e in due] == [("public", date(2025, 1, 1))]
    silent_entry = contract.schedule.get(subscription__product=silent, period_start=date(2025, 2, 1))
    assert selectors.why_not_billed(entry=silent_entry, target_date=date(2025, 1, 31)) == [
        "Not due yet: billed on 2025-02-01.", "The billing rule anniversary actual_days False does not generate invoices.",
    ]
    assert selectors.entry_explain(entry=silent_entry) == "1 × 12 × 1/12 × 28/28 = 1.00 EUR"


def test_usage_is_rated_then_billed(catalog):
    usage = catalog.product("api-calls", price="0.01", charge_type="usage", frequency=1, billing_type="arrears")
    order = draft_order(catalog=catalog, start=date(2025, 1, 1), term=1, products=[(usage, 1)])
    contract = services.order_activate(order=order, actor=None, today=date(2025, 1, 1))
    entry = contract.schedule.get()
    assert (entry.kind, entry.amount, entry.bill_on) == ("usage", None, date(2025, 2, 1))
    assert selectors.why_not_billed(entry=entry, target_date=date(2025, 2, 1)) == ["The usage of this period is not rated yet."]
    assert services.schedule_entries_mark_billed(entry_ids=[entry.pk], billed_at=timezone.now()) == 0
    with pytest.raises(ValidationFailed) as exc:
        services.schedule_entry_set_usage_amount(entry=entry, quantity=D("1234"), amount=D("12.345"))
    assert exc.value.fields == {"amount": ["The amount must be rounded to the currency (EUR)."]}
    services.schedule_entry_set_usage_amount(entry=entry, quantity=D("1234"), amount=D("12.34"))
    assert services.schedule_entries_mark_billed(entry_ids=[entry.pk], billed_at=timezone.now()) == 1


def test_evergreen_subscription_is_scheduled_to_the_horizon_and_extended(catalog):
    product = catalog.product("evergreen-seat", price="120.00", frequency=1)
    order = draft_order(catalog=catalog, start=date(2025, 1, 1), evergreen=True, products=[(product, 1)])
    contract = services.order_activate(order=order, actor=None, today=date(2025, 1, 1))
    sub = contract.subscriptions.get()
    assert (contract.end_date, sub.end_date, sub.scheduled_until) == (None, None, date(2026, 1, 1))
    assert sub.schedule.count() == 12
    assert services.subscription_extend_schedule(subscription=sub, until=date(2026, 3, 1)) == 2
    assert services.subscription_extend_schedule(subscription=sub, until=date(2026, 3, 1)) == 0
    sub.refresh_from_db()
    assert sub.scheduled_until == date(2026, 3, 1)
    # An amendment far beyond the horizon still cuts at its date.
    services.contract_amend(
        contract=contract, actor=None, today=date(2025, 1, 1),
        request=AmendmentRequest(type=AmendmentType.CANCEL_SUBSCRIPTION, effective_date=date(2026, 6, 10), subscription=sub),
    )
    pending = sub.schedule.filter(status="pending").order_by("period_start")
    assert pending.last().period_end == date(2026, 6, 10)
    assert str(pending.last().amount) == "3.000000"  # 9 of 30 days of 10.00


# ---------------------------------------------------------------- renewals


def test_renewal_job_renews_auto_renew_contracts_once_with_uplift(catalog):
    product = catalog.product("renew-seat", price="1200.00", frequency=12)
    order = draft_order(catalog=catalog, start=date(2024, 3, 1), term=12, products=[(product, 2)], auto_renew=True,
                        renewal_pricing="uplift", uplift_percent=D("5"))
    old = services.order_activate(order=order, actor=None, today=date(2024, 3, 1))
    assert services.renewals_create(today=date(2024, 12, 1)) == {"renewed": 0, "quoted": 0, "failed": 0}
    assert services.renewals_create(today=date(2025, 1, 15)) == {"renewed": 1, "quoted": 0, "failed": 0}
    assert services.renewals_create(today=date(2025, 1, 16)) == {"renewed": 0, "quoted": 0, "failed": 0}
    old.refresh_from_db()
    new = old.renewed_by
    assert (old.status, new.start_date, new.end_date, new.auto_renew) == ("renewed", date(2025, 3, 1), date(2026, 3, 1), True)
    sub = new.subscriptions.get()
    assert (sub.unit_price, sub.quantity) == (D("1260"), D("2"))
    assert [str(e.amount) for e in new.schedule.all()] == ["2520.000000"]
    assert services.contract_renew(contract=old, actor=None, today=date(2025, 1, 20)).pk == new.pk


def test_renewal_job_quotes_contracts_that_do_not_auto_renew(catalog):
    from quotes.models import Quote

    product = catalog.product("quote-seat", price="1200.00", frequency=12)
    order = draft_order(catalog=catalog, start=date(2024, 3, 1), term=12, products=[(product, 3)])
    contract = services.order_activate(order=order, actor=None, today=date(2024, 3, 1))
    assert services.renewals_create(today=date(2025, 1, 15)) == {"renewed": 0, "quoted": 1, "failed": 0}
    assert services.renewals_create(today=date(2025, 1, 15)) == {"renewed": 0, "quoted": 0, "failed": 0}
    quote = Quote.objects.get()
    contract.refresh_from_db()
    assert contract.renewal_quote == quote
    line = quote.lines.get()
    assert (quote.status, quote.start_date, quote.term_months, line.net_unit_price, line.quantity, line.line_total) == (
        "draft", date(2025, 3, 1), 12, D("1200"), D("3"), D("3600")
    )


# ---------------------------------------------------------------- from a quote


def test_accepting_a_presented_quote_creates_one_order_with_the_quoted_prices(catalog, sales_user):
    from quotes import services as quotes

    product = catalog.product("quoted-seat", price="1200.00", frequency=12, books=("eur", "usd"))
    account = AccountFactory()
    quote = quotes.quote_create(actor=sales_user, account=account, price_book=catalog.eur, start_date=date(2025, 3, 1),
                                term_months=24, today=date(2025, 2, 1))
    line = quotes.quote_line_add(quote=quote, actor=sales_user, product=product, quantity=D("4"), discount_percent=D("12.5"))
    quotes.quote_submit(quote=quote, actor=sales_user, open_balance=D("0"), today=date(2025, 2, 1))
    quotes.quote_present(quote=quote, actor=sales_user, today=date(2025, 2, 1))
    with time_machine.travel("2025-02-02 10:00Z"):
        order = services.order_create_from_quote(quote=quote, actor=sales_user)
        again = services.order_create_from_quote(quote=quote, actor=sales_user)
    assert again.pk == order.pk
    quote.refresh_from_db()
    assert quote.status == "accepted"
    (op,) = order.products.all()
    line.refresh_from_db()
    assert (op.quantity, op.list_unit_price, op.net_unit_price, op.total_amount, op.start_date, op.end_date) == (
        D("4"), line.list_unit_price, line.net_unit_price, line.line_total, date(2025, 3, 1), None
    )
    assert (op.net_unit_price, op.total_amount) == (D("1050"), D("8400"))
    contract = services.order_activate(order=order, actor=None, today=date(2025, 3, 1))
    assert [str(e.amount) for e in contract.schedule.order_by("id")] == ["4200.000000", "4200.000000"]


def test_an_order_made_by_finance_snapshots_the_entry_like_a_quote_does(catalog):
    usage = catalog.product("storage-gb", price="0.10", charge_type="usage", frequency=1, billing_type="arrears")
    order = draft_order(catalog=catalog, start=date(2025, 1, 1), term=1, products=[])
    line = services.order_product_add(order=order, actor=None, product=usage, quantity=D("1"))
    snapshot = line.pricing_snapshot
    # The same keys quotes write, so invoicing rates usage with the model that was ordered.
    assert (snapshot["model"], snapshot["unit_price"], snapshot["tiers"], snapshot["free_units"]) == (
        "per_unit", "0.1", [], "0"
    )
