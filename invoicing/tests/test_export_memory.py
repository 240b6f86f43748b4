"""The invoice export streams from the database: 200,000 invoices out in flat memory (queryset `.iterator()`)."""

import tracemalloc

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from invoicing.models import Invoice

pytestmark = pytest.mark.django_db

ROWS = 200_000
PEAK_LIMIT = 3 * 1024 * 1024  # bytes; 200,000 loaded invoices would take hundreds of MB, the CSV ~14 MB


def test_the_invoice_export_of_200000_invoices_streams_in_flat_memory(finance_client, account, catalog):
    # Volume, not documents: one INSERT … SELECT writes the rows (a recursive CTE works on SQLite and PostgreSQL).
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO invoicing_invoice (account_id, legal_entity_id, currency, payment_terms_days, language, status,
                subtotal_amount, tax_amount, total_amount, snapshot, pdf, created_at, open_amount, payment_status)
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s)
            SELECT %s, %s, 'EUR', 30, 'en', 'draft', 100, 20, 120, '{}', '', %s, 120, 'unpaid' FROM n
            """,
            [ROWS, account.pk, catalog.entity.pk, timezone.now()],
        )
    assert Invoice.objects.count() == ROWS
    # Warm up (URLs, views, translations load once per process), so the peak measures the export itself.
    assert b"".join(finance_client.get(reverse("invoicing:export"), {"status": "posted"}).streaming_content).count(b"\n") == 1
    tracemalloc.start()
    try:
        response = finance_client.get(reverse("invoicing:export"), {"status": "draft"})
        size = lines = 0
        first = b""
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
            if not first:
                first = chunk
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    assert lines == ROWS + 1
    print(f"{ROWS:,} invoices, {size:,} bytes streamed, tracemalloc peak {peak:,} bytes")
    assert peak < PEAK_LIMIT, f"peak {peak:,} bytes"
