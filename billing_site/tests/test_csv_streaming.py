"""The CSV helper streams: memory stays flat whatever the number of rows."""

import tracemalloc
from decimal import Decimal

from billing_site.csv_export import csv_response

ROWS = 200_000
PEAK_LIMIT = 2 * 1024 * 1024  # bytes; the whole file is ~12 MB, so holding it (or its rows) would blow this


def _consume(response) -> tuple[int, int, bytes]:
    """Read the response as a client would; returns (bytes sent, lines, first chunks) without keeping it."""
    size = lines = 0
    head = b""
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
        if len(head) < 200:
            head += chunk
    return size, lines, head


def test_a_200000_row_export_streams_in_flat_memory():
    rows = ([f"F{n:07d}", "posted", "ACC-00042", "Maison Verte", "EUR", "2025-01-15", Decimal("1234.50") + n]
            for n in range(ROWS))
    tracemalloc.start()
    try:
        response = csv_response("invoices.csv", ["number", "status", "account_number", "account", "currency", "date", "total"], rows)
        size, lines, head = _consume(response)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="invoices.csv"'
    assert lines == ROWS + 1
    assert head.startswith("\ufeffnumber,status,account_number,account,currency,date,total\r\n"
                           "F0000000,posted,ACC-00042,Maison Verte,EUR,2025-01-15,1234.50\r\n".encode())
    assert size > 12_000_000
    print(f"{ROWS:,} rows, {size:,} bytes streamed, tracemalloc peak {peak:,} bytes")
    assert peak < PEAK_LIMIT, f"peak {peak:,} bytes"
