"""Benchmark: usage ingestion over HTTP, through the production server (gunicorn, 2 workers).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_usage .venv/bin/python bench/usage_ingest.py \
        --accounts 1000 --batches 20 --clients 2 --history 1000000

Seeding is not timed: accounts with a usage-priced subscription each (one activated through the
services, the others copied from it with COPY), a Finance user and its API token. The script then
starts `gunicorn billing_site.wsgi -w 2` (DEBUG=0, on a free local port), posts N batches of
10,000 records to `POST /api/v1/usage/` from client threads (`http.client`, token auth), checks that
every record was stored once, re-sends one batch (all duplicates, nothing stored), stops gunicorn
and prints records per second against the target. The bodies are built before the clock starts.

`--history N` keeps N records of the twelve months before in the table (seeded once with COPY), so
the unique key and the indexes are the size a feed in use meets; every run removes only the records
of earlier runs, so each starts from the same table.

`--profile DIR` samples each gunicorn worker with py-spy (if on PATH, or `--py-spy` names it) while
the batches are posted, and prints the top of each profile.
"""

import argparse
import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

from _env import ROOT  # the project on sys.path, the benchmark settings

TARGET = 20_000  # records per second over HTTP, 10,000 records a call
BATCH = 10_000
PRODUCT_SKU = "BENCH-USAGE-CALLS"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def seed(accounts: int) -> list[int]:
    """At least `accounts` accounts with one active usage subscription each (started a year ago, its
    past monthly usage periods billed); their subscription ids."""
    from django.db import connection
    from djmoney.money import Money

    from bench._seed import copy_rows, reset_sequences
    from catalog.models import BillingRule, LegalEntity, PriceBook, PriceBookEntry, Product, TaxRule
    from contracts import services as contract_services
    from contracts.models import Contract, Order, OrderProduct, ScheduleEntry, Subscription
    from customers.models import Account

    existing = list(Subscription.objects.filter(product__sku=PRODUCT_SKU, status="active").order_by("id").values_list("id", flat=True))
    if len(existing) >= accounts:
        return existing[:accounts]
    entity, _ = LegalEntity.objects.get_or_create(
        name="Bench Usage SAS", defaults={"country": "FR", "currency": "EUR", "invoice_prefix": "U", "credit_note_prefix": "UC"})
    tax, _ = TaxRule.objects.get_or_create(name="Bench usage VAT")
    rule, _ = BillingRule.objects.get_or_create(name="Bench usage monthly", defaults={"legal_entity": entity})
    book, _ = PriceBook.objects.get_or_create(name="Bench usage EUR", defaults={"currency": "EUR"})
    product, created = Product.objects.get_or_create(sku=PRODUCT_SKU, defaults={
        "name": "Bench API calls", "charge_type": "usage", "billing_type": "arrears", "billing_frequency": 1,
        "billing_rule": rule, "tax_rule": tax})
    if created:
        PriceBookEntry.objects.create(price_book=book, product=product, pricing_model="per_unit", unit_price=Money("0.002", "EUR"))
    today = dt.date.today()
    start = dt.date(today.year - 1, today.month, 1)
    template = Subscription.objects.filter(product=product).order_by("id").first()
    if template is None:
        account = Account.objects.create(number="BUS-TEMPLATE", name="Bench usage template", country="FR", currency="EUR",
                                         billing_emails="usage@bench.test")
        order = contract_services.order_create(actor=None, data={"account": account, "price_book": book, "start_date": start,
                                                                 "term_months": 36})
        contract_services.order_product_add(order=order, actor=None, product=product, quantity=Decimal(1))
        contract_services.order_activate(order=order, actor=None, today=start)
        template = Subscription.objects.get(product=product)
        # The months before this one were billed (as a run would have); their usage is closed.
        ScheduleEntry.objects.filter(subscription=template, kind="usage", period_end__lte=today.replace(day=1)).update(
            status="billed", billed_at=dt.datetime.now(dt.UTC))
    sub_t = Subscription.objects.filter(pk=template.pk).values()[0]
    op_t = OrderProduct.objects.filter(pk=template.origin_id).values()[0]
    contract_t = Contract.objects.filter(pk=template.contract_id).values()[0]
    order_t = Order.objects.filter(pk=contract_t["order_id"]).values()[0]
    account_t = Account.objects.filter(pk=template.account_id).values()[0]
    entries_t = list(ScheduleEntry.objects.filter(subscription=template).values())
    missing = accounts - len(existing) - (0 if template.pk in existing else 1)
    print(f"seeding {missing:,} accounts with a usage subscription …", flush=True)

    def next_id(model):
        return (model.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1

    ids = {m: next_id(m) for m in (Account, Order, Contract, OrderProduct, Subscription, ScheduleEntry)}
    rows = {m: [] for m in ids}
    entry_id = ids.pop(ScheduleEntry)
    for n in range(missing):
        aid, oid, cid, opid, sid = (ids[m] + n for m in (Account, Order, Contract, OrderProduct, Subscription))
        rows[Account].append({**account_t, "id": aid, "number": f"BUS-{aid:07d}", "name": f"Bench usage {aid}"})
        rows[Order].append({**order_t, "id": oid, "number": f"BUO-{oid:07d}", "account_id": aid, "quote_id": None})
        rows[Contract].append({**contract_t, "id": cid, "number": f"BUC-{cid:07d}", "account_id": aid, "order_id": oid})
        rows[OrderProduct].append({**op_t, "id": opid, "order_id": oid})
        rows[Subscription].append({**sub_t, "id": sid, "account_id": aid, "contract_id": cid, "origin_id": opid})
        for e in entries_t:
            rows[ScheduleEntry].append({**e, "id": entry_id, "subscription_id": sid, "account_id": aid, "contract_id": cid,
                                        "source_order_id": oid})
            entry_id += 1
    for model, model_rows in rows.items():
        copy_rows(model, model_rows)
    reset_sequences(*rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return list(Subscription.objects.filter(product__sku=PRODUCT_SKU, status="active").order_by("id").values_list("id", flat=True))[:accounts]


def seed_history(sub_ids: list[int], records: int) -> None:
    """Up to `records` records of the twelve months before this one, as a table in use holds."""
    from bench._seed import copy_rows, reset_sequences
    from billing_site import clock
    from invoicing.models import UsageRecord

    have = UsageRecord.objects.filter(source="history").count()
    if have >= records:
        return
    print(f"seeding {records - have:,} earlier usage records …", flush=True)
    month_start = clock.today().replace(day=1)
    base = (UsageRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    rows = []
    for n in range(have, records):
        sub = sub_ids[n % len(sub_ids)]
        day = month_start - dt.timedelta(days=1 + n % 360)
        stamp = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        rows.append({"id": base + n - have, "subscription_id": sub, "account_id": ACCOUNT_OF[sub], "quantity": Decimal(1 + n % 250),
                     "occurred_at": stamp, "business_date": day, "idempotency_key": f"hist-{n}", "source": "history",
                     "ingest_batch": f"hist{n // 10_000}"})
        if len(rows) == 100_000:
            copy_rows(UsageRecord, rows)
            rows = []
    copy_rows(UsageRecord, rows)
    reset_sequences(UsageRecord)


ACCOUNT_OF: dict[int, int] = {}


def api_token() -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from billing_site.roles import Role, roles_sync_permissions

    if Group.objects.filter(name__in=[r.value for r in Role]).count() < len(Role):
        roles_sync_permissions()
    user, created = get_user_model().objects.get_or_create(username="bench-usage-feed", defaults={"email": "feed@bench.test"})
    if created:
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=Role.FINANCE.value))
    return Token.objects.get_or_create(user=user)[0].key


def bodies(sub_ids: list[int], batches: int, run: str) -> list[bytes]:
    """N JSON bodies of 10,000 records spread over every subscription, timestamps in this month's open
    usage period (the earlier ones are billed)."""
    from billing_site import clock

    now = clock.now().replace(microsecond=0)
    month_start = dt.datetime.combine(clock.today().replace(day=1), dt.time(0, 1), tzinfo=clock.billing_zone())
    span = max(1, int((now - month_start).total_seconds() // 60))
    out = []
    n = 0
    for b in range(batches):
        records = []
        for i in range(BATCH):
            sub = sub_ids[n % len(sub_ids)]
            stamp = (now - dt.timedelta(minutes=(n * 7) % span)).astimezone(dt.UTC)
            records.append({"subscription": sub, "quantity": str(1 + n % 250), "timestamp": stamp.isoformat().replace("+00:00", "Z"),
                            "idempotency_key": f"{run}-{b}-{i}"})
            n += 1
        out.append(json.dumps({"records": records}).encode())
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, workers: int):
        self.port = free_port()
        env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "BEHIND_TLS_PROXY": "1"}
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.proc = subprocess.Popen(
            [gunicorn, "billing_site.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--timeout", "120",
             "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        sys.exit("gunicorn did not answer within 60 s")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def post(port: int, token: str, body: bytes) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("POST", "/api/v1/usage/", body=body, headers={
        "Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json",
        "X-Forwarded-Proto": "https"})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"POST /api/v1/usage/ answered {response.status}: {data[:500]!r}")
    return json.loads(data)


def post_all(port: int, token: str, payloads: list[bytes], clients: int) -> tuple[float, list[dict]]:
    results: list[dict] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    queue = list(reversed(payloads))

    def client():
        while True:
            with lock:
                if not queue or errors:
                    return
                body = queue.pop()
            try:
                result = post(port, token, body)
            except BaseException as exc:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(exc)
                return
            with lock:
                results.append(result)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed, results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1000, help="accounts, one usage subscription each")
    parser.add_argument("--batches", type=int, default=20, help="calls of 10,000 records")
    parser.add_argument("--clients", type=int, default=2, help="client threads posting at once")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--history", type=int, default=0,
                        help="records of earlier (billed) months kept in the table, seeded once with COPY")
    parser.add_argument("--profile", metavar="DIR", help="sample the gunicorn workers with py-spy into DIR")
    parser.add_argument("--py-spy", default="py-spy", help="the py-spy executable")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from invoicing.models import UsageRecord

    if connection.vendor != "postgresql":
        sys.exit("Run it on PostgreSQL: DATABASE_URL=postgres://…")
    call_command("migrate", verbosity=0)
    sub_ids = seed(args.accounts)
    from contracts.models import Subscription

    ACCOUNT_OF.update(Subscription.objects.filter(id__in=sub_ids).values_list("id", "account_id"))
    token = api_token()
    # Every run starts from the same table: the bench subscriptions' earlier records are removed.
    seed_history(sub_ids, args.history)
    deleted, _ = UsageRecord.objects.filter(subscription_id__in=sub_ids).exclude(source="history").delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE invoicing_usagerecord")
    others = UsageRecord.objects.count()  # the history, and any other records in this database
    run = dt.datetime.now().strftime("%H%M%S")
    payloads = bodies(sub_ids, args.batches, run)
    warmup = bodies(sub_ids[:50], 1, f"{run}w")[0]
    warmup_small = [json.dumps({"records": json.loads(warmup)["records"][i * 100:(i + 1) * 100]}).encode() for i in range(8)]
    connection.close()
    print(f"{len(sub_ids):,} usage subscriptions, {args.batches} calls × {BATCH:,} records, {args.clients} client threads, "
          f"{args.workers} gunicorn workers; {deleted:,} records of earlier bench runs removed, {others:,} records in the table")
    print(f"body size {len(payloads[0]) / 1e6:.2f} MB a call")

    server = Server(args.workers)
    profilers = []
    try:
        post_all(server.port, token, warmup_small, args.clients)  # workers import and connect before the clock starts
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            for pid in server.worker_pids():
                profilers.append(subprocess.Popen(
                    [args.py_spy, "record", "-p", str(pid), "-r", "200", "-f", "raw", "-o", f"{args.profile}/worker-{pid}.txt"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(1)
        before = loadavg()
        elapsed, results = post_all(server.port, token, payloads, args.clients)
        after = loadavg()
        start = time.perf_counter()
        again = post(server.port, token, payloads[0])
        resend = time.perf_counter() - start
    finally:
        for p in profilers:
            p.send_signal(signal.SIGINT)
            p.wait()
        server.stop()

    total = args.batches * BATCH
    imported = sum(r["imported"] for r in results)
    rejected = sum(r["rejected"] for r in results)
    stored = UsageRecord.objects.filter(subscription_id__in=sub_ids, idempotency_key__startswith=f"{run}-").count()
    assert (imported, rejected, stored) == (total, 0, total), (imported, rejected, stored, results[0]["errors"][:3])
    assert (again["imported"], again["duplicates"]) == (0, BATCH), again
    rate = total / elapsed
    print(f"posted {total:,} records in {elapsed:.2f} s: {rate:,.0f} records/s "
          f"({elapsed / args.batches * args.clients * 1000:.0f} ms a call with {args.clients} in flight)")
    print(f"re-sent one call of {BATCH:,}: 0 stored, {again['duplicates']:,} duplicates, {resend * 1000:.0f} ms")
    print(f"loadavg before {before}, after {after}")
    print(f"target ≥ {TARGET:,} records/s over HTTP: {'met' if rate >= TARGET else 'NOT met'}")
    if profilers:
        for path in sorted(Path(args.profile).glob("worker-*.txt")):
            summarize(path)


def summarize(path: Path, top: int = 20) -> None:
    """Where a worker's time went during the requests, from py-spy's raw (collapsed) stacks: own time
    per line, and total time per function of the project and of the database driver."""
    apps = {p.name for p in ROOT.iterdir() if p.is_dir()} | {"psycopg", "json", "rest_framework"}
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        if not any("UsageView.post" in f for f in frames):
            continue  # idle (waiting for a request) or the warm-up
        samples += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for f in {f.rsplit(":", 1)[0] + ")" for f in frames}:
            module = f.rpartition("(")[2].split("/")[0]
            if module in apps:
                total[f] = total.get(f, 0) + n
    print(f"\n{path.name}: {samples} samples in requests")
    print("  own %   line")
    for name, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / max(samples, 1):5.1f}   {name}")
    print("  total % function")
    for name, n in sorted(total.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / max(samples, 1):5.1f}   {name}")


if __name__ == "__main__":
    main()
