"""Benchmark: receivables reads at 1,000,000 posted invoices (AR aging, DSO trend, credit panel, invoice list API).

    createdb -h 127.0.0.1 -U postgres recur_receivables   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_receivables .venv/bin/python bench/receivables.py

Seeds once (COPY, not timed; skipped when the book is already there, `--reseed` to start again):
`--invoices` posted invoices (default 1,000,000) over `--accounts` accounts (default 100,000), one account
holding `--big` of them (default 10,000), dated over the last two years. Each invoice is settled the way a
real book is: old ones mostly paid, recent ones mostly open, some partly paid, some settled by a credit
note. Every settlement is a payment (or a posted credit note) with its allocation row, and the invoice's
`open_amount` / `payment_status` equal total − its allocations, as the services keep them.

Then times, as p50/p95 over repeated calls, through what the product calls:
- the AR aging report: `payments.selectors.reports.aging_report`, its totals and first page of 50 accounts (what
  /payments/reports/ shows);
- the DSO trend: `payments.selectors.reports.dso_trend`;
- the credit panel of the big account: `payments.selectors.credit_summary`;
- the invoice list API page 1: GET /api/v1/invoices/ (Django test client, session auth, in process).
"""

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from decimal import Decimal

import _env  # noqa: F401 - the project on sys.path, the benchmark settings

ENTITY = "Receivables Bench SAS"
TARGETS_MS = {"aging": ("p95", 300.0), "credit": ("p95", 50.0), "list": ("p95", 50.0)}
CENT = Decimal("0.01")


def copy_tuples(table: str, columns: list[str], rows) -> int:
    from django.db import connection

    n = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def _settlement(rng: random.Random, age_days: int) -> tuple[str, Decimal]:
    """('paid' | 'partial' | 'unpaid', share paid) for an invoice `age_days` old: old ones are mostly paid."""
    roll = rng.random()
    if age_days > 120:
        paid, partial = 0.95, 0.03
    elif age_days > 60:
        paid, partial = 0.80, 0.08
    elif age_days > 30:
        paid, partial = 0.45, 0.10
    else:
        paid, partial = 0.15, 0.05
    if roll < paid:
        return "paid", Decimal(1)
    if roll < paid + partial:
        return "partial", Decimal(rng.randint(10, 90)) / 100
    return "unpaid", Decimal(0)


def seed(*, invoices: int, accounts: int, big: int, today: dt.date, out=print) -> dict:
    from django.db import connection
    from django.utils import timezone

    from bench._seed import copy_rows, reset_sequences
    from catalog.models import LegalEntity
    from customers.models import Account
    from invoicing.models import CreditNote, Invoice
    from payments.models import Allocation, Payment

    entity, _ = LegalEntity.objects.get_or_create(name=ENTITY, defaults={
        "country": "FR", "currency": "EUR", "invoice_prefix": "RB", "credit_note_prefix": "RBC"})
    rng = random.Random(42)
    now = timezone.now()
    t0 = time.perf_counter()
    base = (Account.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    words = ["Boulangerie", "Atelier", "Transports", "Garage", "Pharmacie", "Hôtel", "Cabinet", "Studio", "Ferme", "Librairie"]
    copy_rows(Account, [{"id": base + n, "number": f"RB-{base + n:08d}", "name": f"{words[n % 10]} {n:06d}",
                         "country": "FR", "currency": "EUR", "billing_emails": f"ar{n}@bench.test",
                         "credit_limit_amount": Decimal(50000)} for n in range(accounts)])
    out(f"  {accounts:,} accounts ({time.perf_counter() - t0:.0f} s)")
    ids = {"invoice": _next_id(Invoice), "payment": _next_id(Payment), "allocation": _next_id(Allocation),
           "credit_note": _next_id(CreditNote)}
    inv_rows, pay_rows, alloc_rows, cn_rows = [], [], [], []
    counts = {"paid": 0, "partial": 0, "unpaid": 0, "credit_notes": 0}
    per_account = (invoices - big) / (accounts - 1)
    for k in range(invoices):
        account = base if k < big else base + 1 + int((k - big) / per_account)
        age = rng.randrange(730)
        invoice_date = today - dt.timedelta(days=age)
        due = invoice_date + dt.timedelta(days=30)
        subtotal = (Decimal(rng.randint(5000, 500000)) / 100).quantize(CENT)
        tax = (subtotal * Decimal("0.2")).quantize(CENT)
        total = subtotal + tax
        state, share = _settlement(rng, age)
        settled = total if state == "paid" else (total * share).quantize(CENT)
        counts[state] += 1
        open_amount = total - settled
        status = {"paid": "paid", "partial": "partially_paid", "unpaid": "unpaid"}[state]
        iid = ids["invoice"]
        ids["invoice"] += 1
        seq = k + 1
        inv_rows.append((iid, account, "standard", entity.pk, "EUR", 30, "en", "posted", f"RB{seq:08d}", seq, invoice_date, due,
                         invoice_date, subtotal, tax, total, open_amount, status, "{}", "", now, now))
        if settled:
            paid_on = min(today, due + dt.timedelta(days=rng.randint(-25, 45)))
            paid_on = max(paid_on, invoice_date)
            if rng.random() < 0.05:  # settled by a credit note
                cid = ids["credit_note"]
                ids["credit_note"] += 1
                counts["credit_notes"] += 1
                cn_rows.append((cid, account, entity.pk, "EUR", iid, "partial", "en", "posted", f"RBC{cid:08d}", cid, paid_on,
                                "Bench credit", (settled / Decimal("1.2")).quantize(CENT), settled - (settled / Decimal("1.2")).quantize(CENT),
                                settled, "{}", "", now, now))
                source = (None, cid)
            else:
                pid = ids["payment"]
                ids["payment"] += 1
                pay_rows.append((pid, account, "EUR", settled, paid_on, "bank_transfer", f"RB{seq:08d}", "manual", "", "",
                                 settled, Decimal(0), Decimal(0), now))
                source = (pid, None)
            aid = ids["allocation"]
            ids["allocation"] += 1
            alloc_rows.append((aid, account, "EUR", iid, source[0], source[1], settled, paid_on, "", now, ""))
        if len(inv_rows) >= 100_000:
            _flush(inv_rows, pay_rows, alloc_rows, cn_rows)
            out(f"  {k + 1:,} invoices ({time.perf_counter() - t0:.0f} s)")
    _flush(inv_rows, pay_rows, alloc_rows, cn_rows)
    reset_sequences(Account, Invoice, Payment, Allocation, CreditNote)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would have by now: visibility map for index-only scans
    out(f"  seeded in {time.perf_counter() - t0:.0f} s: {counts}")
    return counts


def _next_id(model) -> int:
    return (model.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1


def _flush(inv_rows, pay_rows, alloc_rows, cn_rows) -> None:
    copy_tuples("invoicing_invoice", ["id", "account_id", "kind", "legal_entity_id", "currency", "payment_terms_days", "language",
                                      "status", "number", "sequence", "invoice_date", "due_date", "target_date", "subtotal_amount",
                                      "tax_amount", "total_amount", "open_amount", "payment_status", "snapshot", "pdf",
                                      "created_at", "posted_at"], inv_rows)
    copy_tuples("invoicing_creditnote", ["id", "account_id", "legal_entity_id", "currency", "invoice_id", "kind", "language",
                                         "status", "number", "sequence", "credit_date", "reason", "subtotal_amount", "tax_amount",
                                         "total_amount", "snapshot", "pdf", "created_at", "posted_at"], cn_rows)
    copy_tuples("payments_payment", ["id", "account_id", "currency", "amount", "received_date", "method", "reference", "source",
                                     "notes", "gateway_transaction_id", "allocated_amount", "refunded_amount", "unapplied_amount",
                                     "created_at"], pay_rows)
    copy_tuples("payments_allocation", ["id", "account_id", "currency", "invoice_id", "payment_id", "credit_note_id", "amount",
                                        "allocated_date", "reason", "created_at", "actor_label"], alloc_rows)
    for rows in (inv_rows, pay_rows, alloc_rows, cn_rows):
        rows.clear()


def timed(fn, repeat: int) -> tuple[float, float]:
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=10_000, help="invoices of the one big account")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per measure (after 2 warm-up ones)")
    parser.add_argument("--reseed", action="store_true", help="empty the database's tables and seed again")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from billing_site import clock
    from billing_site.roles import Role, roles_sync_permissions
    from catalog.models import LegalEntity
    from customers.models import Account
    from invoicing.models import Invoice
    from payments.selectors import credit_summary
    from payments.selectors.reports import aging_report, dso_trend

    if connection.vendor != "postgresql":
        sys.exit("Run it on PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_receivables")
    call_command("migrate", verbosity=0)
    today = clock.today()
    entity = LegalEntity.objects.filter(name=ENTITY).first()
    seeded = entity is not None and Invoice.objects.filter(legal_entity=entity).exists()
    if args.reseed and seeded:
        with connection.cursor() as cursor:
            # TRUNCATE fires no row trigger (the frozen-document guards are on UPDATE/DELETE of rows).
            cursor.execute("TRUNCATE customers_account, invoicing_invoice, invoicing_creditnote, payments_payment, "
                           "payments_allocation RESTART IDENTITY CASCADE")
        seeded = False
    if not seeded:
        print(f"seeding {args.invoices:,} posted invoices over {args.accounts:,} accounts (one with {args.big:,}) …")
        seed(invoices=args.invoices, accounts=args.accounts, big=args.big, today=today)
        entity = LegalEntity.objects.get(name=ENTITY)
    book = Invoice.objects.filter(legal_entity=entity)
    big = Account.objects.get(pk=book.order_by("id").values_list("account_id", flat=True).first())
    n_posted = Invoice.objects.filter(status=Invoice.Status.POSTED).count()
    n_open = Invoice.objects.filter(status=Invoice.Status.POSTED, open_amount__gt=0).count()
    print(f"book: {n_posted:,} posted invoices, {n_open:,} open; big account {big.number}: "
          f"{big.invoices.count():,} invoices, {big.invoices.filter(open_amount__gt=0).count():,} open; "
          f"load average {open('/proc/loadavg').read().split()[0]}")

    roles_sync_permissions()
    user, _ = get_user_model().objects.get_or_create(username="bench-receivables")
    user.groups.add(*__import__("django.contrib.auth.models", fromlist=["Group"]).Group.objects.filter(name=Role.FINANCE.value))
    client = Client(HTTP_ACCEPT="application/json")
    client.force_login(user)

    def list_page():
        response = client.get("/api/v1/invoices/", secure=True)  # production settings redirect plain HTTP
        assert response.status_code == 200, response.status_code
        return response

    currency = settings.DEFAULT_CURRENCY
    aging = aging_report(today=today, currency=currency)
    summary = credit_summary(account=big, today=today)
    print(f"aging total {aging['total']} over {aging['accounts']:,} accounts; big account open {summary.open_balance}, "
          f"overdue {summary.overdue_amount}, DSO {summary.dso_90}; invoice list page 1: {len(list_page().content):,} bytes")
    measures = [
        ("aging", "AR aging: totals + worst 50 accounts", lambda: aging_report(today=today, currency=currency)["rows"][:50],
         max(5, args.repeat // 2)),
        ("dso", "DSO trend, 12 months (dso_trend)", lambda: dso_trend(today=today, currency=currency), max(5, args.repeat // 2)),
        ("credit", f"credit panel, {big.invoices.count():,}-invoice account", lambda: credit_summary(account=big, today=today),
         args.repeat * 5),
        ("list", "GET /api/v1/invoices/ page 1", list_page, args.repeat * 5),
    ]
    print(f"{'measure':<44} {'p50 ms':>8} {'p95 ms':>8}   target")
    for key, label, fn, repeat in measures:
        p50, p95 = timed(fn, repeat)
        target = TARGETS_MS.get(key)
        verdict = ""
        if target:
            figure = p50 if target[0] == "p50" else p95
            verdict = f"{target[0]} ≤ {target[1]:.0f} ms: {'met' if figure <= target[1] else 'MISSED'}"
        print(f"{label:<44} {p50:>8.1f} {p95:>8.1f}   {verdict or '(no target)'}")
    print(f"load average {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
