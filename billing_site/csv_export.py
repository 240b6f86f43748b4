"""Streaming CSV exports for every list, with spreadsheet formula injection neutralised."""

import csv
import re

from django.http import StreamingHttpResponse

# A text cell starting with one of these is run as a formula by Excel, LibreOffice or Google Sheets
# (`=HYPERLINK(…)`, `+cmd|…`, `@SUM(…)`; tab and carriage return are trimmed first, then the rest
# is read as a formula). OWASP's list.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# ...but a signed plain number (`-12.50`, a credit balance or a refund) is data a spreadsheet must
# still add up, and cannot run anything: it is written unchanged.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def csv_safe(value):
    """The cell as written: text that a spreadsheet would run as a formula gets a leading apostrophe.

    Only strings are touched (numbers, dates and booleans are written as typed), and among strings
    only those starting with a trigger that are not a plain signed number. The apostrophe is what
    spreadsheets themselves use to mark "this is text", so a person sees the original value.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class _Echo:
    def write(self, value):
        return value


def csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    """Stream `rows` (iterables of cells) as a UTF-8 CSV with a BOM so spreadsheets read accents.

    Every cell, header included, goes through `csv_safe`, so no export can carry a live formula.
    """
    writer = csv.writer(_Echo())

    def generate():
        yield "\ufeff"
        yield writer.writerow([csv_safe(cell) for cell in header])
        for row in rows:
            yield writer.writerow([csv_safe(cell) for cell in row])

    response = StreamingHttpResponse(generate(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
