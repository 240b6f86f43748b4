"""A migrated contract is scheduled MIGRATED_SCHEDULE_MONTHS ahead, not to its end: the daily job writes
the rest month by month, an amendment writes it all first, and an invoice run beyond it writes what it
bills. Whatever the path, the rows are those of a contract scheduled to its end at once."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from contracts import scheduling
from contracts import services as contract_services
from contracts.models import AmendmentType, Contract, ScheduleEntry, Subscription
from contracts.services.schedule import terms_of
from contracts.tests.factories import Catalog
from imports.tests.test_imports import ACCOUNTS, CONTRACTS, commit, upload
from invoicing import services as invoicing_services
from invoicing.models import Invoice

pytestmark = pytest.mark.django_db

# K-1 (Acme): 1 Jan 2025 for 24 months, billed through 30 Sep 2025 by the old system; today 20 Nov 2025.
# Three months ahead of today: the pieces that start before 20 Feb 2026.
SAME_FOR_ANOTHER_ACCOUNT = CONTRACTS.replace("K-1,C-1,", "K-9,C-2,").replace("K-2,C-2,2025-03-15,12,,PLAT,1,\n", "")


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel("2025-11-20 12:00 +01:00", tick=False):
        yield


@pytest.fixture
def migrated(settings):
    settings.MIGRATED_SCHEDULE_MONTHS = 3
    catalog = Catalog()
    catalog.product("PLAT", price="1200.00", frequency=1)   # monthly, priced per 12 months
    catalog.product("SUPPORT", price="600.00", frequency=3)  # quarterly
    commit(upload("accounts", ACCOUNTS))
    commit(upload("contracts", CONTRACTS))
    return Contract.objects.get(account__name="Acme")


def schedule(sub) -> list[tuple]:
    return list(ScheduleEntry.objects.filter(subscription=sub).order_by("period_start", "id").values_list(
        "kind", "status", "period_start", "period_end", "bill_on", "quantity", "amount", "is_delta"))


def whole_term(sub) -> list[tuple]:
    """The rows a contract scheduled to its end at once has (`entries_for` from the billed-through date)."""
    return [("charge", "pending", e.period_start, e.period_end, e.bill_on, e.quantity, e.amount, False)
            for e in scheduling.entries_for(terms=terms_of(sub), quantity=sub.quantity, start=date(2025, 10, 1), end=sub.end_date)]


def months(*starts) -> list[tuple[date, date]]:
    return [(date(y, m, 1), date(y + (m == 12), m % 12 + 1, 1)) for y, m in starts]


def test_the_import_schedules_three_months_ahead_and_says_where_it_stops(migrated):
    plat = Subscription.objects.get(contract=migrated, product__sku="PLAT")
    support = Subscription.objects.get(contract=migrated, product__sku="SUPPORT")
    assert [(r[2], r[3]) for r in schedule(plat)] == months((2025, 10), (2025, 11), (2025, 12), (2026, 1), (2026, 2))
    assert {r[6] for r in schedule(plat)} == {Decimal("900.00")}
    assert plat.scheduled_until == date(2026, 3, 1) and plat.end_date == date(2027, 1, 1)
    assert [(r[2], r[3], r[6]) for r in schedule(support)] == [
        (date(2025, 10, 1), date(2026, 1, 1), Decimal("300.00")), (date(2026, 1, 1), date(2026, 4, 1), Decimal("300.00"))]
    assert support.scheduled_until == date(2026, 4, 1)
    # K-2 ends within the three months: scheduled to its end, nothing left for the job.
    k2 = Subscription.objects.get(contract__account__name="Globex")
    assert ScheduleEntry.objects.filter(subscription=k2).count() == 12 and k2.scheduled_until is None
    # The rows are the first rows of the whole term's.
    assert schedule(plat) == whole_term(plat)[:5]


def test_without_a_horizon_the_import_schedules_the_whole_term(settings, migrated):
    settings.MIGRATED_SCHEDULE_MONTHS = 0
    commit(upload("contracts", SAME_FOR_ANOTHER_ACCOUNT))
    plat = Subscription.objects.get(contract__account__name="Globex", product__sku="PLAT", contract__end_date=date(2027, 1, 1))
    assert len(schedule(plat)) == 15 and plat.scheduled_until is None
    assert schedule(plat) == whole_term(plat)


def test_the_daily_job_writes_the_rest_month_by_month_then_stops_at_the_end(migrated):
    plat = Subscription.objects.get(contract=migrated, product__sku="PLAT")
    support = Subscription.objects.get(contract=migrated, product__sku="SUPPORT")
    # 10 Jan 2026: ahead to 10 Apr 2026: March and April for the monthly line, Q2 for the quarterly one.
    assert contract_services.schedules_extend(today=date(2026, 1, 10)) == 3
    assert contract_services.schedules_extend(today=date(2026, 1, 10)) == 0
    plat.refresh_from_db()
    support.refresh_from_db()
    assert (plat.scheduled_until, support.scheduled_until) == (date(2026, 5, 1), date(2026, 7, 1))
    assert [(r[2], r[3]) for r in schedule(plat)][-2:] == months((2026, 3), (2026, 4))
    # December 2026: the job reaches the end (1 Jan 2027) and the subscriptions are whole.
    assert contract_services.schedules_extend(today=date(2026, 12, 1)) == 8 + 2
    plat.refresh_from_db()
    support.refresh_from_db()
    assert (plat.scheduled_until, support.scheduled_until) == (None, None)
    assert schedule(plat) == whole_term(plat) and len(schedule(plat)) == 15
    assert schedule(support) == whole_term(support) and len(schedule(support)) == 5
    assert contract_services.schedules_extend(today=date(2027, 6, 1)) == 0


def _add_two(contract, *, preview=False):
    sub = Subscription.objects.get(contract=contract, product__sku="PLAT")
    request = contract_services.AmendmentRequest(type=AmendmentType.ADD_QUANTITY, effective_date=date(2026, 6, 1),
                                                 subscription=sub, quantity=Decimal("2"))
    if preview:
        return contract_services.contract_amendment_preview(contract=contract, request=request)
    return contract_services.contract_amend(contract=contract, request=request, actor=None)


def test_an_amendment_writes_the_rest_first_and_gives_the_rows_of_a_whole_schedule(settings, migrated):
    settings.MIGRATED_SCHEDULE_MONTHS = 0
    commit(upload("contracts", SAME_FOR_ANOTHER_ACCOUNT))
    whole = Contract.objects.get(account__name="Globex", end_date=date(2027, 1, 1))
    partial_preview, whole_preview = _add_two(migrated, preview=True), _add_two(whole, preview=True)
    # + 2 × 1080/12 = 180.00 a month, June to December 2026.
    assert partial_preview.net_amount == whole_preview.net_amount == Decimal("1260.00")
    assert [(e.period_start, e.amount) for e in partial_preview.items[0].plan.new_entries] == \
        [(e.period_start, e.amount) for e in whole_preview.items[0].plan.new_entries]
    assert ScheduleEntry.objects.filter(contract=migrated).count() == 5 + 2  # the preview wrote nothing
    _add_two(migrated)
    _add_two(whole)
    for sku in ("PLAT", "SUPPORT"):
        assert schedule(Subscription.objects.get(contract=migrated, product__sku=sku)) == \
            schedule(Subscription.objects.get(contract=whole, product__sku=sku))
    plat = Subscription.objects.get(contract=migrated, product__sku="PLAT")
    assert plat.scheduled_until is None and plat.quantity == Decimal("12")
    assert ScheduleEntry.objects.filter(subscription=plat, is_delta=True).count() == 7


def test_an_invoice_run_past_the_schedule_writes_and_bills_what_is_due(migrated):
    run = invoicing_services.invoice_run_execute(
        run=invoicing_services.invoice_run_create(actor=None, target_date=date(2026, 6, 1), start=False)
    )
    invoice = Invoice.objects.get(account__name="Acme", run=run)
    plat_lines = sorted((line.period_start, line.period_end, line.net_amount) for line in invoice.lines.all()
                        if line.period_end - line.period_start < (date(2025, 12, 1) - date(2025, 10, 1)))
    assert [(a, b) for a, b, _n in plat_lines] == months(*[(2025, m) for m in (10, 11, 12)], *[(2026, m) for m in range(1, 7)])
    assert {n for _a, _b, n in plat_lines} == {Decimal("900.00")}
    assert len(invoice.lines.all()) == 9 + 3  # and three quarters of support, to June
    plat = Subscription.objects.get(contract=migrated, product__sku="PLAT")
    assert plat.scheduled_until == date(2026, 7, 1)


def test_the_contract_page_says_where_the_schedule_stops(migrated, finance_client):
    page = finance_client.get(reverse("contracts:detail", args=[migrated.pk])).content.decode()
    assert page.count("the rest of the term is written month by month (a migrated contract), or all at once by an amendment") == 2
    assert "Scheduled through 02/28/2026: " in page and "Scheduled through 03/31/2026: " in page
    # "To bill" is what is written so far: the earliest place a schedule stops.
    assert '<span class="muted" id="scheduled-through">· scheduled through 02/28/2026</span>' in page
    finance_client.post(reverse("language-set"), {"language": "fr", "next": "/"})
    page = finance_client.get(reverse("contracts:detail", args=[migrated.pk])).content.decode()
    assert "Échéancier établi jusqu’au 28/02/2026 : le reste de la durée est établi mois après mois (contrat repris)" in page
    assert "· échéancier établi jusqu’au 28/02/2026</span>" in page


@pytest.mark.django_db(transaction=True)
def test_two_daily_jobs_and_an_amendment_at_once_write_each_period_once(migrated):
    from django.db import connection

    from billing_site.testing import run_together

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks (run with DATABASE_URL=postgres://…)")
    plat = Subscription.objects.get(contract=migrated, product__sku="PLAT")
    results = run_together(
        lambda: contract_services.schedules_extend(today=date(2026, 12, 1)),
        lambda: contract_services.schedules_extend(today=date(2026, 12, 1)),
        lambda: _add_two(migrated).number,
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    # Whoever came first wrote the rest of each schedule; the others found it written.
    charges = ScheduleEntry.objects.filter(subscription=plat, is_delta=False).values_list("period_start", flat=True)
    assert sorted(charges) == [s for s, _e in months(*[(2025, m) for m in (10, 11, 12)], *[(2026, m) for m in range(1, 13)])]
    support = Subscription.objects.get(contract=migrated, product__sku="SUPPORT")
    assert ScheduleEntry.objects.filter(subscription=support).count() == 5
    assert ScheduleEntry.objects.filter(subscription=plat, is_delta=True).count() == 7
