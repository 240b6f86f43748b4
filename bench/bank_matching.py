"""Benchmark: a 1,000-line bank statement imported and matched on a Celery worker, against 52,000 accounts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_receivables CELERY_BROKER_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python bench/bank_matching.py

Seeds once (COPY, not timed): `--accounts` accounts (default 52,000), each with one paid invoice (its payment
and allocation) and one open invoice. Then builds a statement of `--lines` lines (default 1,000):
half name an open invoice's number in the reference, three in ten pay an open invoice's exact amount with
the account's name inside the counterparty ("VIR SEPA <NAME> SAS"), the rest come from payers nobody knows.

Timed: from the upload (`statement_import(background=True)`, what the page and the API call: parse, store
the lines, enqueue) to the statement's status `done`, the matching running on a real Celery worker
(started here, on the Redis broker of CELERY_BROKER_URL; `--in-process` runs the task in this process
instead). The progress the page shows is printed as it moves.
"""

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import time
from decimal import Decimal

from _env import ROOT  # the project on sys.path, the benchmark settings

TARGET_S = 10.0
ENTITY = "Bank Bench SAS"
FIRST = ["Boulangeries", "Ateliers", "Transports", "Garages", "Pharmacies", "Hotels", "Cabinets", "Studios", "Fermes",
         "Librairies", "Menuiseries", "Imprimeries", "Brasseries", "Fromageries", "Verreries", "Tanneries", "Forges",
         "Distilleries", "Poteries", "Laiteries", "Scieries", "Filatures", "Moulins", "Caves", "Vergers", "Serres",
         "Chantiers", "Ecuries", "Vignobles", "Huileries", "Savonneries", "Tuileries", "Papeteries", "Cidreries",
         "Confiseries", "Charcuteries", "Biscuiteries", "Conserveries", "Horlogeries", "Orfevreries", "Bijouteries",
         "Ebenisteries", "Sellerie", "Chocolateries", "Pepinieres", "Marbreries", "Ferronneries", "Corderies",
         "Tonnelleries", "Salaisons"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
        "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard",
        "Andre", "Lefevre", "Mercier", "Dupont", "Lambert", "Bonnet", "Francois", "Martinez", "Legrand", "Garnier",
        "Faure", "Rousseau", "Blanc", "Guerin", "Muller", "Henry", "Roussel", "Nicolas"]
CITY = [chr(ord("A") + k) * 2 + "-Ville" for k in range(26)]  # "AA-Ville" … "ZZ-Ville"


def account_name(n: int) -> str:
    return f"{FIRST[n % 50]} {LAST[(n // 50) % 40]} {CITY[(n // 2000) % 26]}"


def seed(*, accounts: int, today: dt.date) -> None:
    from django.db import connection
    from django.utils import timezone

    from bench._seed import copy_rows, reset_sequences
    from bench.receivables import copy_tuples
    from catalog.models import LegalEntity
    from customers.models import Account
    from invoicing.models import Invoice
    from payments.models import Allocation, Payment

    entity, _ = LegalEntity.objects.get_or_create(name=ENTITY, defaults={
        "country": "FR", "currency": "EUR", "invoice_prefix": "BM", "credit_note_prefix": "BMC"})
    rng, now, t0 = random.Random(7), timezone.now(), time.perf_counter()
    base = (Account.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    copy_rows(Account, [{"id": base + n, "number": f"BM-{base + n:08d}", "name": account_name(n), "country": "FR", "currency": "EUR",
                         "billing_emails": f"ar{n}@bench.test"} for n in range(accounts)])
    inv_id = (Invoice.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    pay_id = (Payment.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    alloc_id = (Allocation.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    invoices, payments, allocations = [], [], []
    for n in range(accounts):
        for k, paid in ((0, True), (1, False)):
            seq = 2 * n + k + 1
            invoice_date = today - dt.timedelta(days=rng.randrange(20, 200) if paid else rng.randrange(0, 60))
            total = Decimal(rng.randint(5000, 900000)) / 100
            invoices.append((inv_id, base + n, "standard", entity.pk, "EUR", 30, "en", "posted", f"BM{seq:08d}", seq, invoice_date,
                             invoice_date + dt.timedelta(days=30), invoice_date, total, Decimal(0), total,
                             Decimal(0) if paid else total, "paid" if paid else "unpaid", "{}", "", now, now))
            if paid:
                payments.append((pay_id, base + n, "EUR", total, invoice_date, "bank_transfer", f"BM{seq:08d}", "manual", "", "",
                                 total, Decimal(0), Decimal(0), now))
                allocations.append((alloc_id, base + n, "EUR", inv_id, pay_id, None, total, invoice_date, "", now, ""))
                pay_id, alloc_id = pay_id + 1, alloc_id + 1
            inv_id += 1
    copy_tuples("invoicing_invoice", ["id", "account_id", "kind", "legal_entity_id", "currency", "payment_terms_days", "language",
                                      "status", "number", "sequence", "invoice_date", "due_date", "target_date", "subtotal_amount",
                                      "tax_amount", "total_amount", "open_amount", "payment_status", "snapshot", "pdf",
                                      "created_at", "posted_at"], invoices)
    copy_tuples("payments_payment", ["id", "account_id", "currency", "amount", "received_date", "method", "reference", "source",
                                     "notes", "gateway_transaction_id", "allocated_amount", "refunded_amount", "unapplied_amount",
                                     "created_at"], payments)
    copy_tuples("payments_allocation", ["id", "account_id", "currency", "invoice_id", "payment_id", "credit_note_id", "amount",
                                        "allocated_date", "reason", "created_at", "actor_label"], allocations)
    reset_sequences(Account, Invoice, Payment, Allocation)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"  seeded {accounts:,} accounts, {len(invoices):,} invoices ({accounts:,} open) in {time.perf_counter() - t0:.0f} s")


def statement(*, lines: int, today: dt.date, seed_value: int) -> tuple[bytes, dict]:
    """A CSV statement: 50 % invoice numbers, 30 % amount + name, 20 % unknown payers, shuffled."""
    from catalog.models import LegalEntity
    from invoicing.models import Invoice

    rng = random.Random(seed_value)
    open_rows = list(Invoice.objects.filter(legal_entity=LegalEntity.objects.get(name=ENTITY), open_amount__gt=0)
                     .values_list("number", "open_amount", "account__name"))
    picked = rng.sample(open_rows, int(lines * 0.8))
    n_ref = lines // 2
    rows, expected = [], {"reference": n_ref, "name": len(picked) - n_ref, "unknown": lines - len(picked)}
    day = today.isoformat()
    for k, (number, amount, name) in enumerate(picked):
        text = f"{amount:.2f}".replace(".", ",")
        if k < n_ref:
            rows.append(f"{day};{text};EUR;VIR FACTURE {number} MERCI;{name.upper()}")
        else:
            rows.append(f"{day};{text};EUR;PAIEMENT FACTURES;VIR SEPA {name.upper()} SAS")
    for k in range(expected["unknown"]):
        rows.append(f"{day};{rng.randint(100, 999)},{rng.randint(10, 99)};EUR;REMISE {k};PARTICULIER {k:05d}")
    rng.shuffle(rows)
    return ("date;amount;currency;reference;counterparty\n" + "\n".join(rows) + "\n").encode(), expected


def start_worker() -> subprocess.Popen:
    env = {**os.environ}
    return subprocess.Popen([str(ROOT / ".venv/bin/celery"), "-A", "billing_site", "worker", "--pool", "solo", "--loglevel", "warning",
                             "--without-gossip", "--without-mingle", "--without-heartbeat"], cwd=ROOT, env=env)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=52_000)
    parser.add_argument("--lines", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=2, help="statements imported and timed, one after the other")
    parser.add_argument("--in-process", action="store_true", help="run the matching task here instead of on a worker")
    args = parser.parse_args()
    if not args.in_process and not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        sys.exit("Set CELERY_BROKER_URL=redis://127.0.0.1:6379/<db> (or pass --in-process).")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from billing_site import clock
    from catalog.models import LegalEntity
    from invoicing.models import Invoice
    from payments import services
    from payments.models import StatementImport
    from payments.tasks import statement_match_task

    if connection.vendor != "postgresql":
        sys.exit("Run it on PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_receivables")
    call_command("migrate", verbosity=0)
    today = clock.today()
    if not Invoice.objects.filter(legal_entity__name=ENTITY).exists():
        print(f"seeding {args.accounts:,} accounts with a paid and an open invoice each …")
        seed(accounts=args.accounts, today=today)
    entity = LegalEntity.objects.get(name=ENTITY)
    print(f"book: {Invoice.objects.count():,} invoices ({Invoice.objects.filter(legal_entity=entity, open_amount__gt=0).count():,} "
          f"open in the bench's entity), load average {open('/proc/loadavg').read().split()[0]}")
    worker = None if args.in_process else start_worker()
    try:
        if worker is not None:
            time.sleep(3)  # the worker connects to the broker
        for run in range(args.runs):
            content, expected = statement(lines=args.lines, today=today, seed_value=int(time.time() * 1000) + run)
            start = time.perf_counter()
            imported, created = services.statement_import(file_name=f"bench-{run}.csv", content=content, today=today, background=True)
            stored = time.perf_counter() - start
            assert created
            if args.in_process:
                statement_match_task.apply(args=[imported.pk])
            last = -1
            while True:
                imported.refresh_from_db()
                if imported.processed_count != last:
                    print(f"  {time.perf_counter() - start:6.1f} s  {imported.get_status_display():<22} "
                          f"{imported.processed_count:>5} / {imported.lines_count} lines ({imported.percent} %)")
                    last = imported.processed_count
                if imported.status in (StatementImport.Status.DONE, StatementImport.Status.FAILED):
                    break
                if time.perf_counter() - start > 600:
                    sys.exit("not done after 600 s")
                time.sleep(0.2)
            elapsed = time.perf_counter() - start
            counts = dict(imported.lines.values_list("status").annotate(n=django.db.models.Count("id")).order_by())
            print(f"run {run + 1}: {args.lines:,} lines imported and matched in {elapsed:.2f} s (stored in {stored:.2f} s); "
                  f"target ≤ {TARGET_S:.0f} s: {'met' if elapsed <= TARGET_S else 'MISSED'}; "
                  f"{imported.matched_count} matched (expected {expected['reference'] + expected['name']}: {expected['reference']} by "
                  f"number, {expected['name']} by amount and name), lines by status {counts}; "
                  f"load average {open('/proc/loadavg').read().split()[0]}")
            if imported.status == StatementImport.Status.FAILED:
                sys.exit(f"matching failed: {imported.error}")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)


if __name__ == "__main__":
    main()
