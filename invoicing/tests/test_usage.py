"""Usage ingestion through the API: exact counts, every reason a record is refused, idempotent re-sends.

Runs on SQLite and on PostgreSQL (where the records go through COPY and INSERT … ON CONFLICT):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_usage DEBUG=1 .venv/bin/pytest invoicing/tests/test_usage.py
"""

import datetime as dt
from datetime import date
from decimal import Decimal

import jsonschema
import pytest
import time_machine
from drf_spectacular.generators import SchemaGenerator

from billing_site.audit import AuditLog
from contracts.models import ScheduleEntry
from invoicing import services
from invoicing.models import UsageRecord
from invoicing.tests.factories import AccountFactory, activate
from tests.test_api_contract import _strict

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2025, 3, 1, 11, 0, tzinfo=UTC)  # 12:00 in Paris: the date window is 2015-03-01 .. 2026-03-02


@pytest.fixture(scope="module")
def result_schema(django_db_blocker):
    """The documented 200 answer of POST /api/v1/usage/, strict (no undocumented property)."""
    with django_db_blocker.unblock():
        schema = _strict(SchemaGenerator().get_schema(request=None, public=True))
    content = schema["paths"]["/api/v1/usage/"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    return {"components": schema["components"], **content}


@pytest.fixture
def usage(catalog):
    calls = catalog.product("api-calls", price="0.01", charge_type="usage", billing_type="arrears", frequency=1)
    seat = catalog.product("seat", price="100.00", frequency=1)
    contract = activate(catalog=catalog, products=[(calls, "1"), (seat, "1")], account=AccountFactory(number="ACC-USAGE"))
    activate(catalog=catalog, products=[(calls, "1"), (calls, "2")], account=AccountFactory(number="ACC-TWICE"))
    return {"calls": contract.subscriptions.get(product=calls), "seat": contract.subscriptions.get(product=seat)}


def rec(sub, key, quantity="1", timestamp="2025-02-10T10:00:00Z", **extra):
    return {"subscription": sub.pk if hasattr(sub, "pk") else sub, "quantity": quantity, "timestamp": timestamp,
            "idempotency_key": key, **extra}


def test_every_refused_record_is_listed_with_its_index_and_reason_and_the_good_ones_are_stored(finance_api, usage, result_schema):
    calls, seat = usage["calls"], usage["seat"]
    with time_machine.travel(NOW, tick=False):
        # January is invoiced: its usage period is closed.
        services.invoice_run_execute(run=services.invoice_run_create(actor=None, target_date=date(2025, 2, 1), auto_post=True, start=False))
        assert ScheduleEntry.objects.get(subscription=calls, kind="usage", period_start=date(2025, 1, 1)).status == "billed"
        first = finance_api.post("/api/v1/usage/", {"records": [rec(calls, "stored")]}, format="json").json()
        assert (first["imported"], first["duplicates"], first["rejected"]) == (1, 0, 0)
        records = [
            rec(calls, "k0", "10"),                                                    # 0 stored
            rec(calls, "k0", "11"),                                                    # 1 same key in the call: duplicate
            rec(calls, "stored", "5"),                                                 # 2 already stored: duplicate
            rec("abc", "k3"),                                                          # 3
            rec(999999, "k4"),                                                         # 4
            rec(seat, "k5"),                                                           # 5
            rec(calls, ""),                                                            # 6
            rec(calls, "x" * 201),                                                     # 7
            rec(calls, "k8", "abc"),                                                   # 8
            rec(calls, "k9", "-1"),                                                    # 9
            rec(calls, "k10", "1.0000001"),                                            # 10
            rec(calls, "k11", "1000000000"),                                           # 11
            rec(calls, "k12", timestamp="yesterday"),                                  # 12
            rec(calls, "k13", timestamp="2025-02-30T10:00:00"),                        # 13
            rec(calls, "k14", timestamp="2024-12-31T10:00:00+01:00"),                  # 14
            rec(calls, "k15", timestamp="2026-06-01T10:00:00Z"),                       # 15
            rec(calls, "k16", timestamp="2025-01-15T10:00:00Z"),                       # 16
            {"account": "ACC-USAGE", "product": "api-calls", "quantity": "2,5", "timestamp": "2025-02-11T10:00:00Z",
             "idempotency_key": "k17"},                                                # 17 stored, decimal comma
            {"account": "ACC-TWICE", "product": "api-calls", "quantity": "1", "timestamp": "2025-02-11T10:00:00Z",
             "idempotency_key": "k18"},                                                # 18
            {"account": "ACC-NONE", "product": "api-calls", "quantity": "1", "timestamp": "2025-02-11T10:00:00Z",
             "idempotency_key": "k19"},                                                # 19
            "not a record",                                                            # 20
            {},                                                                        # 21
            rec(calls, "k22", "0.000001", timestamp="2025-02-28 23:30:00"),            # 22 stored, Paris time
            rec(calls, "k23", "3", timestamp="2025-02-28T23:30:00Z"),                  # 23 stored, 1 March in Paris
            rec(calls, "k24", "4", timestamp="2025-02-20"),                            # 24 stored, noon
            rec(True, "k25"),                                                          # 25
            rec(calls, "tab\there back\\slash new\nline", "7"),                       # 26 stored as sent
        ]
        response = finance_api.post("/api/v1/usage/", {"records": records}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    jsonschema.validate(body, result_schema)
    assert {k: body[k] for k in ("received", "imported", "duplicates", "rejected")} == {
        "received": 27, "imported": 6, "duplicates": 2, "rejected": 19}
    assert body["errors"] == [
        {"row": 3, "reason": "“abc” is not a subscription id."},
        {"row": 4, "reason": "Subscription 999999 does not exist."},
        {"row": 5, "reason": f"Subscription {seat.pk} (Seat) is not billed on usage."},
        {"row": 6, "reason": "An idempotency key is required."},
        {"row": 7, "reason": "The idempotency key is longer than 200 characters."},
        {"row": 8, "reason": "“abc” is not a quantity."},
        {"row": 9, "reason": "The quantity must be zero or more."},
        {"row": 10, "reason": "The quantity has more than 6 decimal places."},
        {"row": 11, "reason": "The quantity must be at most 999,999,999."},
        {"row": 12, "reason": "“yesterday” is not a date and time (ISO 8601, e.g. 2025-03-01T10:00:00+01:00)."},
        {"row": 13, "reason": "“2025-02-30T10:00:00” is not a date and time (ISO 8601, e.g. 2025-03-01T10:00:00+01:00)."},
        {"row": 14, "reason": "2024-12-31 is outside the subscription's service dates."},
        {"row": 15, "reason": "The date must be between 2015-03-01 and 2026-03-02."},
        {"row": 16, "reason": "The usage period holding 2025-01-15 is already billed; record it as an adjustment."},
        {"row": 18, "reason": "Account ACC-TWICE has several subscriptions of api-calls: give the subscription id."},
        {"row": 19, "reason": "Account ACC-NONE has no active usage subscription of product api-calls."},
        {"row": 20, "reason": "A record must be an object with subscription, quantity, timestamp and idempotency_key."},
        {"row": 21, "reason": "Give a subscription id, or an account number and a product SKU."},
        {"row": 25, "reason": "“True” is not a subscription id."},
    ]
    stored = {r.idempotency_key: r for r in UsageRecord.objects.all()}
    assert sorted(stored) == sorted(["stored", "k0", "k17", "k22", "k23", "k24", "tab\there back\\slash new\nline"])
    assert [(stored[k].quantity, stored[k].occurred_at, stored[k].business_date, stored[k].subscription_id, stored[k].account_id,
             stored[k].source) for k in ("k0", "k17", "k22", "k23", "k24", "tab\there back\\slash new\nline")] == [
        (Decimal("10"), dt.datetime(2025, 2, 10, 10, 0, tzinfo=UTC), date(2025, 2, 10), calls.pk, calls.account_id, "api"),
        (Decimal("2.5"), dt.datetime(2025, 2, 11, 10, 0, tzinfo=UTC), date(2025, 2, 11), calls.pk, calls.account_id, "api"),
        (Decimal("0.000001"), dt.datetime(2025, 2, 28, 22, 30, tzinfo=UTC), date(2025, 2, 28), calls.pk, calls.account_id, "api"),
        (Decimal("3"), dt.datetime(2025, 2, 28, 23, 30, tzinfo=UTC), date(2025, 3, 1), calls.pk, calls.account_id, "api"),
        (Decimal("4"), dt.datetime(2025, 2, 20, 11, 0, tzinfo=UTC), date(2025, 2, 20), calls.pk, calls.account_id, "api"),
        (Decimal("7"), dt.datetime(2025, 2, 10, 10, 0, tzinfo=UTC), date(2025, 2, 10), calls.pk, calls.account_id, "api"),
    ]
    # One call, one batch: the records stored by this call share it.
    assert len({stored[k].ingest_batch for k in ("k0", "k17", "k22", "k23", "k24")}) == 1
    assert stored["k0"].ingest_batch != stored["stored"].ingest_batch


def test_sending_the_same_batch_again_stores_nothing_and_counts_every_record_as_a_duplicate(finance_api, usage):
    calls = usage["calls"]
    records = [rec(calls, f"r{i}", str(i), timestamp=f"2025-02-{i + 1:02d}T08:00:00Z") for i in range(5)]
    with time_machine.travel(NOW, tick=False):
        first = finance_api.post("/api/v1/usage/", {"records": records}, format="json").json()
        again = finance_api.post("/api/v1/usage/", {"records": records}, format="json").json()
    assert first == {"received": 5, "imported": 5, "duplicates": 0, "rejected": 0, "errors": []}
    assert again == {"received": 5, "imported": 0, "duplicates": 5, "rejected": 0, "errors": []}
    assert sorted(UsageRecord.objects.values_list("idempotency_key", "quantity")) == [
        ("r0", Decimal("0")), ("r1", Decimal("1")), ("r2", Decimal("2")), ("r3", Decimal("3")), ("r4", Decimal("4"))]
    # Only the call that stored something is in the activity log, with its counts.
    log = AuditLog.objects.get(action="usage_imported")
    assert (log.object_id, log.message, log.data["imported"]) == (str(calls.pk), "5 usage records imported", 5)


def test_a_full_call_of_ten_thousand_records_is_stored_once(finance_api, usage):
    calls = usage["calls"]
    records = [rec(calls, f"n{i}", "1.5", timestamp=f"2025-02-{1 + i % 28:02d}T{i % 24:02d}:00:00Z") for i in range(10_000)]
    with time_machine.travel(NOW, tick=False):
        body = finance_api.post("/api/v1/usage/", {"records": records}, format="json").json()
        assert (body["imported"], body["duplicates"], body["rejected"]) == (10_000, 0, 0)
        # The same ten thousand with a thousand new ones mixed in: only the new ones are stored.
        records[::10] = [rec(calls, f"m{i}", "2") for i in range(1000)]
        body = finance_api.post("/api/v1/usage/", {"records": records}, format="json").json()
    assert (body["imported"], body["duplicates"], body["rejected"]) == (1000, 9000, 0)
    assert UsageRecord.objects.count() == 11_000
    assert sum(UsageRecord.objects.values_list("quantity", flat=True)) == Decimal("17000")


def test_csv_upload_numbers_rows_from_the_file_line(usage):
    calls = usage["calls"]
    content = (
        "subscription,quantity,timestamp,idempotency_key\n"
        f"{calls.pk},100,2025-02-10T10:00:00+01:00,c1\n"
        f"{calls.pk},1.5,2025-02-10T10:00:00+01:00,c1\n"
        f"{calls.pk},x,2025-02-11T10:00:00+01:00,c2\n"
        f"{calls.pk},1,2025-02-11T10:00:00+01:00,nul\x00key\n"
    )
    with time_machine.travel(NOW, tick=False):
        result = services.usage_ingest(records=services.usage_parse_csv(content=content), actor=None, source="csv", first_row=2)
    assert result.as_dict() == {"received": 4, "imported": 1, "duplicates": 1, "rejected": 2,
                                "errors": [{"row": 4, "reason": "“x” is not a quantity."},
                                           {"row": 5, "reason": "The idempotency key contains a NUL character."}]}
    assert list(UsageRecord.objects.values_list("idempotency_key", "quantity", "source")) == [("c1", Decimal("100"), "csv")]
