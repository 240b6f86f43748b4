"""Usage records are stored once when feeds send overlapping batches at the same time (PostgreSQL, threads).

Run with: DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_usage DEBUG=1 .venv/bin/pytest invoicing/tests/test_usage_postgres.py
"""

import datetime as dt
from decimal import Decimal
from functools import partial

import pytest
import time_machine
from django.conf import settings
from django.db.models import Count, Sum

from billing_site.testing import run_together
from invoicing import services
from invoicing.models import UsageRecord
from invoicing.tests.factories import AccountFactory, activate, make_catalog

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql", reason="needs PostgreSQL"),
]
NOW = dt.datetime(2025, 3, 1, 11, 0, tzinfo=dt.UTC)


def records(subs, keys, quantity):
    return [{"subscription": subs[k % len(subs)].pk, "quantity": quantity, "timestamp": f"2025-02-{1 + k % 28:02d}T10:00:00Z",
             "idempotency_key": f"key-{k}"} for k in keys]


def ingest_at_once(*batches):
    """Each batch ingested by its own thread with its own connection, all starting together."""
    return run_together(*(partial(services.usage_ingest, records=batch, actor=None) for batch in batches))


@time_machine.travel(NOW, tick=False)
def test_two_concurrent_calls_with_overlapping_records_store_each_record_once():
    catalog = make_catalog()
    calls = catalog.product("api-calls", price="0.01", charge_type="usage", billing_type="arrears", frequency=1)
    subs = [activate(catalog=catalog, products=[(calls, "1")], account=AccountFactory()).subscriptions.get() for _ in range(3)]
    for round_ in range(3):
        UsageRecord.objects.all().delete()
        # 0..5,999 and 3,000..8,999, the second sent backwards: 3,000 records in both calls, in opposite
        # orders, which is how two transactions come to wait for each other's keys (a deadlock, unless
        # both insert in one order).
        a, b = ingest_at_once(records(subs, range(0, 6000), "1"), records(subs, reversed(range(3000, 9000)), "2"))
        assert not isinstance(a, Exception), a
        assert not isinstance(b, Exception), b
        assert (a.received, b.received, a.errors, b.errors) == (6000, 6000, [], [])
        # Every record is stored once: the 3,000 shared ones by whichever call got there first.
        assert (a.imported + b.imported, a.duplicates + b.duplicates) == (9000, 3000), (round_, a.imported, b.imported)
        assert a.imported >= 3000 and b.imported >= 3000
        assert UsageRecord.objects.count() == 9000
        assert not UsageRecord.objects.values("subscription", "idempotency_key").annotate(n=Count("id")).filter(n__gt=1).exists()
        # Each shared record holds the quantity of the call that stored it (1 or 2), and each call's
        # count of stored records is exactly what it wrote.
        assert UsageRecord.objects.filter(quantity=1).count() == a.imported
        assert UsageRecord.objects.filter(quantity=2).count() == b.imported
        assert UsageRecord.objects.aggregate(total=Sum("quantity"))["total"] == Decimal(a.imported + 2 * b.imported)
