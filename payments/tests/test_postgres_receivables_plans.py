"""Receivables and bank matching read indexes on PostgreSQL: EXPLAIN on a book of 20,000 invoices and 40,000 accounts.

Run with: DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_receivables DEBUG=1 .venv/bin/pytest payments/tests/test_postgres_receivables_plans.py

The invoices are written by one INSERT … SELECT generate_series (the planner needs volume, not documents
made by the services), then ANALYZE, so the plans are the ones a real book gets: one invoice in ten open.
"""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Account
from payments.selectors import bank as bank_reads
from payments.selectors.reports import aging_report
from payments.tests.factories import AccountFactory, legal_entity

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql", reason="needs PostgreSQL"),
]

TODAY = dt.date(2026, 6, 30)


@pytest.fixture
def book():
    """40,000 accounts ("Bench 00001" …), the first 40 with 500 posted invoices each, one in ten open."""
    entity = legal_entity()
    first = AccountFactory(name="Atelier Dufresne")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO customers_account (id, number, name, legal_name, address_line1, address_line2, postal_code, city, region,
                country, tax_id, tax_exempt, currency, language, payment_terms_days, billing_day, credit_limit_amount,
                credit_hold, billing_emails, status, notes, created_at, updated_at)
            SELECT %(base)s + n, 'PL-' || n, 'Bench ' || lpad(n::text, 5, '0'), '', '', '', '', '', '', 'FR', '', false, 'EUR',
                'en', 30, 1, 0, false, '', 'active', '', now(), now()
            FROM generate_series(1, 39999) n
            """,
            {"base": first.pk},
        )
        cursor.execute(
            """
            INSERT INTO invoicing_invoice (account_id, legal_entity_id, currency, payment_terms_days, language, status, kind,
                number, sequence, invoice_date, due_date, target_date, subtotal_amount, tax_amount, total_amount,
                snapshot, pdf, created_at, open_amount, payment_status)
            SELECT a.id, %(entity)s, 'EUR', 30, 'en', 'posted', 'standard', 'PL' || (a.i * 500 + n), a.i * 500 + n,
                DATE '2025-01-01' + n, DATE '2025-01-31' + n, DATE '2025-01-01' + n, 100, 20, 120 + n, '{}', '', now(),
                CASE WHEN n %% 10 = 0 THEN 120 + n ELSE 0 END, CASE WHEN n %% 10 = 0 THEN 'unpaid' ELSE 'paid' END
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS i FROM customers_account ORDER BY id LIMIT 40) a,
                 LATERAL generate_series(1, 500) n
            """,
            {"entity": entity.pk},
        )
        # What autovacuum does in a live database: move the rows just inserted out of the trigram indexes'
        # pending lists (the planner prices a long pending list as a scan of it) and gather statistics.
        cursor.execute("SELECT gin_clean_pending_list('payments_account_name_trgm'), gin_clean_pending_list('payments_account_legal_trgm')")
        cursor.execute("ANALYZE invoicing_invoice")
        cursor.execute("ANALYZE customers_account")
    return first


def _plan(sql: str, params=()) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params or None)  # None: the captured SQL has its values inlined ("%dufresne%")
        return "\n".join(row[0] for row in cursor.fetchall())


def _plans(fn) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        result = fn()
    return result, [_plan(q["sql"]) for q in captured.captured_queries]


def test_the_aging_report_sums_open_invoices_from_their_indexes(book):
    def first_page():
        report = aging_report(today=TODAY, currency="EUR")
        return report, report["rows"][:50]

    (report, rows), plans = _plans(first_page)
    assert len(plans) == 3  # the totals, the page's accounts ranked, their buckets
    for plan in plans:
        # The covering index serves them from the index alone once the table is vacuumed (the benchmark's
        # plan); before that (here, inside the test's transaction) PostgreSQL may take the other index of
        # open invoices. Either way only open invoices are read, never the whole table.
        assert "payments_invoice_open_aging" in plan or "invoice_open_by_account" in plan, plan
        assert "Seq Scan on invoicing_invoice" not in plan, plan
    # 40 accounts × 50 open invoices of 120 + n (n = 10, 20, … 500) due on 2025-01-31 + n: over 90 days late
    # (due before 2026-04-01) for n ≤ 420, 61–90 days for n = 430 … 450, 31–60 for 460 … 480, 1–30 for 490 and 500.
    assert (report["accounts"], report["total"], len(rows)) == (40, D("40") * sum(120 + n for n in range(10, 501, 10)), 40)
    assert {tuple(r["buckets"].values()) for r in rows} == {
        (D("0.00"), D("1230.00"), D("1770.00"), D("1680.00"), D(sum(120 + n for n in range(10, 421, 10))))}


def test_bank_matching_reads_its_indexes(book):
    _found, [plan] = _plans(lambda: bank_reads.invoices_by_number(["PL1010", "VIR", "MERCI"]))
    assert "payments_invoice_number_upper" in plan and "Seq Scan" not in plan, plan
    found, [plan] = _plans(lambda: bank_reads.accounts_by_name(bank_reads.name_probes("VIR SEPA BENCH 04242 SAS")))
    # The LOWER() b-tree indexes, or the trigram ones (pg_trgm answers equality too): never a scan of the accounts.
    assert "Index Cond: (lower((name)::text) = ANY" in plan and "Index Cond: (lower((legal_name)::text) = ANY" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert found == {"bench 04242": {Account.objects.get(name="Bench 04242").pk}}
    found, [plan] = _plans(lambda: bank_reads.accounts_containing("DUFRESNE"))
    assert "payments_account_name_trgm" in plan and "Seq Scan" not in plan, plan
    assert found == [book.pk]
    found, [plan] = _plans(lambda: bank_reads.open_invoices_with_amount(currency="EUR", amount=D("130")))
    assert "payments_invoice_open_amount" in plan and "Seq Scan" not in plan, plan
    assert sorted(i.number for i in found) == [f"PL{i * 500 + 10}" for i in range(31, 41)]
