"""The bulk path writes what the row-by-row path writes: the same file imported both ways, row for row.

Run with: DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_imports DEBUG=1 .venv/bin/pytest imports/tests/test_bulk_equivalence.py
(the bulk path writes with COPY on PostgreSQL; on SQLite it uses bulk_create and the test runs too).
"""

import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from billing_site.audit import AuditLog
from billing_site.models import Event
from contracts.models import Contract, Order, OrderProduct, ScheduleEntry, Subscription
from contracts.tests.factories import Catalog
from customers.models import Account
from imports import services
from imports.models import ExternalKey, ImportBatch

pytestmark = pytest.mark.django_db

ACCOUNTS = (
    "external_id,name,country,currency,payment_terms_days,billing_day,credit_limit_amount,billing_emails\n"
    "C-1,Acme,FR,EUR,45,5,\"10 000,50\",ap@acme.test\n"
    "C-2,Globex,DE,EUR,30,15,,\n"
    "C-3,Initech\tLtd,FR,EUR,,,,\n"
)
CONTRACTS = (
    "contract_id,account,start_date,term_months,end_date,evergreen,billed_through,product,quantity,unit_price,line_start_date\n"
    "K-1,C-1,01/01/2025,24,,,30/09/2025,PLAT,10,\"1 080,00\",\n"
    "K-1,C-1,01/01/2025,24,,,30/09/2025,SUPPORT,2,,\n"
    "K-1,C-1,01/01/2025,24,,,30/09/2025,SETUP,1,,\n"
    "K-2,C-2,2025-03-15,,2026-03-15,,,PLAT,\"1,5\",,\n"
    "K-2,C-2,2025-03-15,,2026-03-15,,,DAYS,7,,2025-04-10\n"
    "K-3,C-3,2025-02-01,,,yes,2025-10-31,PLAT,3,999.99,\n"
    "K-3,C-3,2025-02-01,,,yes,2025-10-31,SUPPORT,1,,\n"
)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel("2025-11-20 12:00 +01:00", tick=False):
        yield


def _catalog():
    catalog = Catalog()
    catalog.product("PLAT", price="1200.00", frequency=1)
    catalog.product("SUPPORT", price="600.00", frequency=3)
    catalog.product("SETUP", price="500.00", charge_type="one_time")
    catalog.product("DAYS", price="365.00", frequency=1, boundary="calendar", day_count="thirty_360")
    return catalog


def _import(kind, text, monkeypatch, *, bulk: bool, mode="all"):
    monkeypatch.setattr(services, "BULK_MIN_RECORDS", 1 if bulk else None)
    batch = services.import_upload(kind=kind, filename="data.csv", content=text.encode(), actor=None)
    services.import_commit(batch=batch, actor=None, mode=mode)
    return services.import_execute(batch_id=batch.pk)


def _content(since=(0, 0)) -> dict:
    """Every row the two imports wrote, ids replaced by what they point at (numbers are checked apart)."""
    accounts = {a.pk: a.name for a in Account.objects.all()}
    contracts = {c.pk: c.order.notes for c in Contract.objects.select_related("order")}
    orders = {o.pk: o.notes for o in Order.objects.all()}
    subs = {s.pk: (contracts[s.contract_id], s.product.sku) for s in Subscription.objects.select_related("product")}
    for a in Account.objects.all():
        assert a.number == f"ACC-{a.pk:05d}"
    for o in Order.objects.all():
        assert o.number == f"ORD-{o.pk:05d}" and o.contract.order_id == o.pk
    for c in Contract.objects.all():
        assert c.number == f"CTR-{c.pk:05d}"
    skip = {"id", "number", "created_at", "updated_at", "activated_at", "at"}

    def plain(obj, **refs):
        row = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in skip}
        row.update(refs)
        return row

    def rows(qs, key, **refs):
        return sorted((plain(o, **{k: f(o) for k, f in refs.items()}) for o in qs), key=key)

    by = {
        "accounts": rows(Account.objects.all(), key=lambda r: r["name"]),
        "orders": rows(Order.objects.all(), key=lambda r: r["notes"], account_id=lambda o: accounts[o.account_id],
                       contract_id=lambda o: contracts[o.contract_id]),
        "order_products": rows(OrderProduct.objects.all(), key=lambda r: (r["order_id"], r["product_id"]),
                               order_id=lambda o: orders[o.order_id]),
        "contracts": rows(Contract.objects.all(), key=lambda r: r["order_id"], account_id=lambda o: accounts[o.account_id],
                          order_id=lambda o: orders[o.order_id]),
        "subscriptions": rows(Subscription.objects.all(), key=lambda r: (r["contract_id"], r["product_id"]),
                              contract_id=lambda o: contracts[o.contract_id], account_id=lambda o: accounts[o.account_id],
                              origin_id=lambda o: (orders[o.origin.order_id], o.origin.product_id)),
        "schedule": rows(ScheduleEntry.objects.all(), key=lambda r: (r["subscription_id"], r["period_start"], r["kind"]),
                         subscription_id=lambda o: subs[o.subscription_id], contract_id=lambda o: contracts[o.contract_id],
                         account_id=lambda o: accounts[o.account_id], source_order_id=lambda o: orders[o.source_order_id]),
        "keys": sorted((k.kind, k.external_id, k.fingerprint) for k in ExternalKey.objects.all()),
        "audit": sorted((a.object_type, a.action, a.from_state, a.to_state, a.actor_label,
                         re.sub(r"(ORD|CTR|ACC)-\d+", r"\1-#", a.message), a.data) for a in AuditLog.objects.filter(pk__gt=since[0]).exclude(object_type="imports.importbatch")),
        "events": sorted((e.type, accounts[e.account_id], e.payload["type"], e.payload["status"]) for e in Event.objects.filter(pk__gt=since[1])),
    }
    return by


def _both_ways(monkeypatch):
    outcomes = []
    _catalog()
    for bulk in (False, True):
        since = (_last(AuditLog), _last(Event))
        a = _import("accounts", ACCOUNTS, monkeypatch, bulk=bulk)
        c = _import("contracts", CONTRACTS, monkeypatch, bulk=bulk)
        assert (a.status, c.status) == (ImportBatch.Status.DONE, ImportBatch.Status.DONE), (a.errors, c.errors)
        outcomes.append((_content(since), a.counts["results"], c.counts["results"], c.totals))
        _clear()
    return outcomes


def _last(model) -> int:
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _clear():
    """Back to the bare catalog between the two imports (same transaction; the test rolls it back)."""
    for model in (ScheduleEntry, Subscription):
        model.objects.all().delete()
    Order.objects.update(contract=None)
    for model in (Contract, OrderProduct, Order, ExternalKey, Account, ImportBatch):
        model.objects.all().delete()


def test_bulk_and_row_by_row_write_the_same_rows(monkeypatch):
    (row_path, *row_reports), (bulk_path, *bulk_reports) = _both_ways(monkeypatch)
    assert row_reports == bulk_reports
    for table in row_path:
        assert bulk_path[table] == row_path[table], table
    schedule = row_path["schedule"]
    # What they both wrote, checked on its own: 3 contracts; billed-through respected to the day.
    assert len(row_path["contracts"]) == 3 and len(row_path["subscriptions"]) == 7
    k1_plat = [r for r in schedule if r["subscription_id"] == ("Imported contract K-1", "PLAT")]
    assert (k1_plat[0]["period_start"], k1_plat[0]["amount"]) == (date(2025, 10, 1), Decimal("900.000000"))
    assert not [r for r in schedule if r["kind"] == "one_time"]  # the setup fee the old system billed
    assert sum(r["amount"] for r in schedule) == sum(r["amount"] for r in bulk_path["schedule"])
    assert len(schedule) == len(bulk_path["schedule"]) > 40


def test_reimport_by_the_bulk_path_changes_nothing(monkeypatch):
    _catalog()
    _import("accounts", ACCOUNTS, monkeypatch, bulk=True)
    _import("contracts", CONTRACTS, monkeypatch, bulk=True)
    before = _content()
    again = _import("contracts", CONTRACTS, monkeypatch, bulk=True)
    assert again.counts["unchanged"] == 7 and again.counts["create"] == 0
    assert _import("accounts", ACCOUNTS, monkeypatch, bulk=True).counts["unchanged"] == 3
    assert _content() == before


def test_all_or_nothing_writes_nothing_and_good_rows_keeps_the_good_ones(monkeypatch):
    _catalog()
    _import("accounts", ACCOUNTS, monkeypatch, bulk=True)
    bad = CONTRACTS + "K-9,C-404,2025-01-01,12,,,,PLAT,1,,\n"
    monkeypatch.setattr(services, "BULK_MIN_RECORDS", 1)
    batch = services.import_upload(kind="contracts", filename="data.csv", content=bad.encode(), actor=None)
    assert batch.counts["error"] == 1
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.QUEUED)  # forced past the page's refusal
    batch = services.import_execute(batch_id=batch.pk)
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.message == ("Nothing was imported: fix the error rows and import the file again, "
                             "or import only the good rows.")
    assert batch.counts["results"] == [[9, "", "error", "account", "Unknown account “C-404”."]]
    assert Contract.objects.count() == 0 and ScheduleEntry.objects.count() == 0
    good = _import("contracts", bad, monkeypatch, bulk=True, mode="good")
    assert good.status == ImportBatch.Status.DONE and (good.counts["create"], good.counts["error"]) == (7, 1)
    assert Contract.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (progress committed from inside the file's transaction)")
def test_progress_of_a_bulk_commit_is_visible_while_the_file_is_written(monkeypatch):
    import threading

    from imports import bulk

    _catalog()
    _import("accounts", ACCOUNTS, monkeypatch, bulk=True)
    monkeypatch.setattr(bulk, "WRITE_BATCH", 1)
    seen = []
    write = bulk.WRITERS["contracts"]

    def watched(ctx, plans, cache):
        write(ctx, plans, cache)

        def look():  # another connection, as the page polling the batch
            seen.append(ImportBatch.objects.get(pk=ctx.batch_id).rows_done)
            connection.close()

        thread = threading.Thread(target=look)
        thread.start()
        thread.join()

    monkeypatch.setitem(bulk.WRITERS, "contracts", watched)
    batch = _import("contracts", CONTRACTS, monkeypatch, bulk=True)
    # Three contracts of 3, 2 and 2 lines: each part's progress is committed before the next is written,
    # while the contracts themselves appear only when the whole file commits.
    assert seen == [0, 3, 5]
    assert (batch.status, batch.rows_done, Contract.objects.count()) == (ImportBatch.Status.DONE, 7, 3)


def test_the_bulk_path_refuses_a_changed_contract_and_updates_a_changed_account_row_by_row(monkeypatch):
    _catalog()
    _import("accounts", ACCOUNTS, monkeypatch, bulk=True)
    _import("contracts", CONTRACTS, monkeypatch, bulk=True)
    changed = CONTRACTS.replace("K-2,C-2,2025-03-15,,2026-03-15,,,PLAT,\"1,5\"", "K-2,C-2,2025-03-15,,2026-03-15,,,PLAT,2")
    batch = services.import_upload(kind="contracts", filename="data.csv", content=changed.encode(), actor=None)
    message = "Contract K-2 was already imported with other values; change it with an amendment."
    assert [tuple(r) for r in batch.counts["results"]] == [
        (2, "K-1", "unchanged", "", ""), (3, "K-1", "unchanged", "", ""), (4, "K-1", "unchanged", "", ""),
        (5, "", "error", "contract_id", message), (6, "", "error", "contract_id", message),
        (7, "K-3", "unchanged", "", ""), (8, "K-3", "unchanged", "", ""),
    ]
    renamed = _import("accounts", ACCOUNTS.replace("C-2,Globex,", "C-2,Globex Corp,"), monkeypatch, bulk=True)
    assert (renamed.counts["update"], renamed.counts["unchanged"]) == (1, 2)
    assert Account.objects.filter(name="Globex Corp").count() == 1


def test_a_large_bulk_commit_refreshes_the_planner_statistics_of_the_tables_it_filled(
    monkeypatch, django_capture_on_commit_callbacks
):
    """After the commit, the tables that got at least ANALYZE_MIN_ROWS rows are analyzed (PostgreSQL),
    so the first invoice run plans with the imported rows; a dry run analyzes nothing."""
    from django.test.utils import CaptureQueriesContext

    from imports import bulk

    _catalog()
    monkeypatch.setattr(bulk, "ANALYZE_MIN_ROWS", 7)  # 7 lines and subscriptions, 40+ schedule and audit rows; 3 contracts
    _import("accounts", ACCOUNTS, monkeypatch, bulk=True)
    monkeypatch.setattr(services, "BULK_MIN_RECORDS", 1)
    batch = services.import_upload(kind="contracts", filename="data.csv", content=CONTRACTS.encode(), actor=None)
    with CaptureQueriesContext(connection) as queries:
        services.import_preview(batch=batch, actor=None)
    assert not [q for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
    services.import_commit(batch=batch, actor=None, mode="all")
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        assert services.import_execute(batch_id=batch.pk).status == ImportBatch.Status.DONE
    analyzed = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
    if connection.vendor == "postgresql":
        assert analyzed == ['ANALYZE "billing_site_auditlog"', 'ANALYZE "contracts_orderproduct"',
                            'ANALYZE "contracts_scheduleentry"', 'ANALYZE "contracts_subscription"']
    else:
        assert analyzed == []  # SQLite: nothing to analyze, and nothing is sent
    assert bulk.written_analyze() == []  # the counts were used once
