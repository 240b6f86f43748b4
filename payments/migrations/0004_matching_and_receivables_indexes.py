"""Indexes for bank matching and the receivables reports (on invoicing's and customers' tables, read here).

Bank matching (`payments.selectors.bank`) looks up, per batch of statement lines:
- posted invoices by UPPER(number) (a reference names them in any case);
- accounts by LOWER(name) / LOWER(legal_name) (the counterparty's word runs);
- open invoices by (currency, open amount) (a payer nobody could name).
On PostgreSQL, trigram indexes (pg_trgm, a trusted extension) answer "the name contains the
counterparty"; SQLite, the small embedded database, scans the names instead.

The receivables reads use, on PostgreSQL, covering indexes so that the aging report sums only open
invoices, the DSO trend sums per day, and an account's credit panel sums its recent invoices, from
the index alone (index-only scans).
"""

from django.db import migrations

PORTABLE = [
    # Not partial: PostgreSQL keeps statistics for the expression of a full index only, and without them
    # it estimates thousands of rows per number and reads the whole table for a batch's references.
    ("payments_invoice_number_upper", "invoicing_invoice (UPPER(number))"),
    ("payments_invoice_open_amount", "invoicing_invoice (currency, open_amount, id) WHERE status = 'posted' AND open_amount > 0"),
    ("payments_account_name_lower", "customers_account (LOWER(name))"),
    ("payments_account_legal_lower", "customers_account (LOWER(legal_name))"),
]
POSTGRES = [
    ("payments_account_name_trgm", "customers_account USING gin (LOWER(name) gin_trgm_ops)"),
    ("payments_account_legal_trgm", "customers_account USING gin (LOWER(legal_name) gin_trgm_ops)"),
    ("payments_invoice_open_aging",
     "invoicing_invoice (currency, account_id) INCLUDE (due_date, open_amount) WHERE status = 'posted' AND open_amount > 0"),
    ("payments_invoice_posted_by_day", "invoicing_invoice (currency, invoice_date) INCLUDE (total_amount) WHERE status = 'posted'"),
    ("payments_invoice_posted_by_account_day",
     "invoicing_invoice (account_id, currency, invoice_date) INCLUDE (total_amount, open_amount) WHERE status = 'posted'"),
    ("payments_allocation_by_day", "payments_allocation (currency, allocated_date) INCLUDE (amount)"),
]


def create(apps, schema_editor):
    statements = [f"CREATE INDEX IF NOT EXISTS {name} ON {what}" for name, what in PORTABLE]
    if schema_editor.connection.vendor == "postgresql":
        statements.insert(0, "CREATE EXTENSION IF NOT EXISTS pg_trgm")
        statements += [f"CREATE INDEX IF NOT EXISTS {name} ON {what}" for name, what in POSTGRES]
    for sql in statements:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    names = [name for name, _what in PORTABLE]
    if schema_editor.connection.vendor == "postgresql":
        names += [name for name, _what in POSTGRES]
    for name in names:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_bank_matching_progress_indexes"),
        ("invoicing", "0007_merge_20261130_1953"),
        ("customers", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
