"""The main invoice lists use an index on PostgreSQL: EXPLAIN on a table with 20,000 invoices.

Run with: DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_scale DEBUG=1 .venv/bin/pytest invoicing/tests/test_postgres_list_plans.py

The rows are written by one INSERT … SELECT generate_series (the planner needs volume, not documents
made by the services), then ANALYZE, so the plans are the ones a real book gets.
"""

from datetime import date

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoicing.models import Invoice
from invoicing.tests.factories import AccountFactory, make_catalog

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql", reason="needs PostgreSQL"),
]

ACCOUNTS = 40
PER_ACCOUNT = 500


@pytest.fixture
def book():
    """A book of 20,020 invoices: 40 accounts × 500 and a first account with 20 (due dates over 500 days,
    every tenth a draft)."""
    entity = make_catalog().entity
    accounts = [AccountFactory() for _ in range(ACCOUNTS + 1)]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO invoicing_invoice (account_id, legal_entity_id, currency, payment_terms_days, language, status,
                number, sequence, invoice_date, due_date, target_date, subtotal_amount, tax_amount, total_amount,
                snapshot, pdf, created_at, open_amount, payment_status)
            SELECT a.id, %(entity)s, 'EUR', 30, 'en', CASE WHEN n %% 10 = 0 THEN 'draft' ELSE 'posted' END,
                CASE WHEN n %% 10 = 0 THEN NULL ELSE 'F' || (a.i * %(per)s + n) END,
                CASE WHEN n %% 10 = 0 THEN NULL ELSE a.i * %(per)s + n END,
                DATE '2025-01-01' + n, DATE '2025-01-31' + n, DATE '2025-01-01' + n, 100, 20, 120, '{}', '', now(), 120, 'unpaid'
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS i FROM customers_account WHERE id = ANY(%(ids)s)) a,
                 LATERAL generate_series(1, CASE WHEN a.i = 1 THEN 20 ELSE %(per)s END) n
            """,
            {"entity": entity.pk, "per": PER_ACCOUNT, "ids": [a.pk for a in accounts]},
        )
        cursor.execute("ANALYZE invoicing_invoice")
    assert Invoice.objects.count() == ACCOUNTS * PER_ACCOUNT + 20
    return accounts


def _plan(sql: str, params=()) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _page_query(captured) -> str:
    """The page's SELECT of invoices (not its COUNT), as the API sent it."""
    [sql] = [q["sql"] for q in captured.captured_queries
             if q["sql"].startswith('SELECT "invoicing_invoice"."id"') and "LIMIT" in q["sql"]]
    return sql


def test_invoice_list_by_account_and_status_reads_an_account_index(finance_api, book):
    # An account holding 0.1 % of the book, as most do; for an account holding a large share, walking the
    # primary key newest first until 50 match is the cheaper plan and PostgreSQL rightly takes it.
    account = book[0]
    with CaptureQueriesContext(connection) as captured:
        response = finance_api.get(f"/api/v1/invoices/?account={account.pk}&status=posted")
    assert (response.status_code, response.json()["count"]) == (200, 18)
    plan = _plan(_page_query(captured))
    assert f"Index Cond: (account_id = {account.pk})" in plan and "Seq Scan" not in plan, plan
    # the page reaches the end of the list: its count needs no COUNT query
    assert [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT COUNT(*)")] == []
    with CaptureQueriesContext(connection) as captured:
        response = finance_api.get(f"/api/v1/invoices/?account={account.pk}&status=posted&page_size=10")
    assert (response.status_code, response.json()["count"], len(response.json()["results"])) == (200, 18, 10)
    [count_sql] = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert count_sql.endswith("LIMIT 10001) subquery"), count_sql
    count_plan = _plan(count_sql)
    assert "Index Cond" in count_plan and "Seq Scan" not in count_plan, count_plan


def test_invoice_list_pages_newest_first_by_the_primary_key(finance_api, book):
    with CaptureQueriesContext(connection) as captured:
        assert finance_api.get("/api/v1/invoices/").status_code == 200
    plan = _plan(_page_query(captured))
    assert "Index Scan Backward using invoicing_invoice_pkey" in plan and "Seq Scan" not in plan, plan


def test_open_invoices_by_due_date_read_the_status_due_date_index(book):
    today = date(2025, 3, 1)
    overdue = Invoice.objects.filter(status=Invoice.Status.POSTED, due_date__lt=today).order_by("due_date", "id")
    sql, params = overdue.query.sql_with_params()
    plan = _plan(sql, params)
    assert "invoice_status_due_idx" in plan and "Seq Scan" not in plan, plan
