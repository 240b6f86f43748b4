"""The schedule's one composite foreign key (PostgreSQL): an entry's subscription exists, and the contract
and account the entry copies are that subscription's."""

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction

from contracts import services
from contracts.models import ScheduleEntry
from contracts.tests.factories import Catalog, draft_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the composite key is PostgreSQL's (SQLite cannot add it to an existing table)")


def _two_contracts():
    catalog = Catalog()
    seat = catalog.product("seat", price="120.00", frequency=1)
    first = services.order_activate(order=draft_order(catalog=catalog, products=[(seat, 3)]), actor=None, today=date(2025, 1, 1))
    second = services.order_activate(  # another account (draft_order makes one)
        order=draft_order(catalog=catalog, products=[(seat, 1)]), actor=None, today=date(2025, 1, 1)
    )
    return first, second


def _copy_of(entry: ScheduleEntry, **changes) -> ScheduleEntry:
    entry.pk = None
    for name, value in changes.items():
        setattr(entry, name, value)
    return entry


def _refused(entry: ScheduleEntry) -> str:
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        entry.save()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the key is deferred: check it now
    return str(caught.value)


def test_an_entry_that_agrees_with_its_subscription_is_accepted(postgres_only):
    first, _second = _two_contracts()
    entry = _copy_of(first.schedule.order_by("id").first(), period_start=date(2026, 1, 1), period_end=date(2026, 2, 1))
    with transaction.atomic():
        entry.save()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert ScheduleEntry.objects.filter(contract=first).count() == 13


def test_an_entry_whose_account_or_contract_is_not_its_subscriptions_is_refused(postgres_only):
    first, second = _two_contracts()
    template = first.schedule.order_by("id").first()
    assert template.account_id != second.account_id
    message = _refused(_copy_of(first.schedule.order_by("id").first(), account_id=second.account_id))
    assert "schedule_subscription_contract_account_fk" in message
    message = _refused(_copy_of(first.schedule.order_by("id").first(), contract_id=second.pk))
    assert "schedule_subscription_contract_account_fk" in message
    assert ScheduleEntry.objects.count() == 12 + 12


def test_an_entry_of_a_missing_subscription_is_refused(postgres_only):
    first, _second = _two_contracts()
    message = _refused(_copy_of(first.schedule.order_by("id").first(), subscription_id=10**9))
    assert "schedule_subscription_contract_account_fk" in message


def test_the_schedule_has_one_key_to_its_subscription_and_no_single_column_copies(postgres_only):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'contracts_scheduleentry'::regclass AND contype = 'f' ORDER BY conname"
        )
        keys = dict(cursor.fetchall())
    assert sorted(d.split(" REFERENCES ")[0] for d in keys.values()) == [
        "FOREIGN KEY (cancelled_by_id)", "FOREIGN KEY (credits_id)", "FOREIGN KEY (source_order_id)",
        "FOREIGN KEY (subscription_id, contract_id, account_id)",
    ]
