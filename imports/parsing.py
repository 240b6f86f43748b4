"""Reading spreadsheets and locale values: pure functions, no database.

A file is CSV (UTF-8, with or without a byte-order mark; `,` or `;` separated) or XLSX. Values
accept both English and French formats: `1234.56`, `1,234.56`, `1 234,56`, `1234,56`; dates
`2025-12-31`, `31/12/2025`, `31.12.2025`. An ambiguous number (`1,234` alone) is read as the
French decimal only when it cannot be a thousands group (one to two digits after the comma).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

# Explicit limits: an import is a migration tool, not a data lake.
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 700_000
MAX_CELL_CHARS = 1000


class FileProblem(Exception):
    """The file as a whole cannot be read (encoding, format, size)."""


@dataclass
class Sheet:
    headers: list[str]
    rows: list[list[str]]  # cells as text, one list per data row (the header is row 1)


def normalize_header(text: str) -> str:
    """`Date de début` → `date_de_debut`: case, accents, spaces and punctuation folded."""
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def read_sheet(*, content: bytes, filename: str) -> Sheet:
    """Parse an uploaded file into headers and text rows, refusing what is too big or not UTF-8."""
    if len(content) > MAX_FILE_BYTES:
        raise FileProblem(_("The file is larger than %(mb)s MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)})
    if not content:
        raise FileProblem(_("The file is empty."))
    name = filename.lower()
    if name.endswith(".xlsx") or content[:2] == b"PK":
        rows = _read_xlsx(content)
    elif name.endswith((".csv", ".txt")) or not name:
        rows = _read_csv(content)
    else:
        raise FileProblem(_("Upload a CSV or an XLSX file."))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise FileProblem(_("The file has no header row."))
    headers = [h.strip() for h in rows[0]]
    data = rows[1:]
    if len(data) > MAX_ROWS:
        raise FileProblem(_("The file has %(rows)s rows; at most %(max)s are accepted.") % {"rows": len(data), "max": MAX_ROWS})
    width = len(headers)
    data = [r if len(r) == width else (r + [""] * width)[:width] for r in data]
    if any(len(cell) > MAX_CELL_CHARS for r in data for cell in r):
        raise FileProblem(_("A cell holds more than %(max)s characters.") % {"max": MAX_CELL_CHARS})
    return Sheet(headers=headers, rows=data)


def _read_csv(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(
            _("The file is not UTF-8 text (byte %(pos)s). Save it as “CSV UTF-8” and upload it again.") % {"pos": exc.start + 1}
        ) from exc
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    same: dict[str, str] = {}  # one string object per distinct cell text (ids and dates repeat on every line)
    return [[same.setdefault(c, c) for c in map(str.strip, row)] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _read_xlsx(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FileProblem(_("The XLSX file cannot be read: %(error)s") % {"error": exc}) from exc
    sheet = book.worksheets[0]
    rows = []
    same: dict[str, str] = {}
    for values in sheet.iter_rows(values_only=True):
        if len(rows) > MAX_ROWS + 1:
            raise FileProblem(_("The file has more than %(max)s rows.") % {"max": MAX_ROWS})
        rows.append([same.setdefault(t, t) for t in map(_cell_text, values)])
    book.close()
    return rows


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Spreadsheet numbers are binary floats; their shortest repr is what the user typed.
        return repr(value).removesuffix(".0") if value == int(value) else repr(value)
    return str(value).strip()


_SPACES = re.compile(r"[\s\u00a0\u202f']")


def parse_decimal(text: str) -> Decimal:
    """`1 234,56`, `1,234.56`, `1234.56`, `1234,56` → Decimal('1234.56'); ValueError otherwise."""
    raw = _SPACES.sub("", str(text))
    if raw.startswith("+"):
        raw = raw[1:]
    if not raw:
        raise ValueError(text)
    if "," in raw and "." in raw:
        if raw.rfind(",") > raw.rfind("."):
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
    elif raw.count(",") == 1:
        raw = raw.replace(",", ".")
    elif raw.count(",") > 1:
        raw = raw.replace(",", "")
    if not re.fullmatch(r"-?\d+(\.\d+)?", raw):
        raise ValueError(text)
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise ValueError(text) from exc


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")


def parse_date(text: str) -> dt.date:
    """`2025-12-31`, `31/12/2025`, `31.12.2025` → date(2025, 12, 31); ValueError otherwise.

    Day first, as in France and in most of Europe; an ISO date is never ambiguous."""
    raw = str(text).strip()
    if "T" in raw:
        raw = raw.split("T", 1)[0]
    m = _ISO.match(raw)
    if m:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    m = _DMY.match(raw)
    if m:
        return dt.date(int(m[3]), int(m[2]), int(m[1]))
    raise ValueError(text)


TRUE = {"1", "true", "yes", "y", "oui", "o", "vrai", "x"}
FALSE = {"0", "false", "no", "n", "non", "faux", ""}


def parse_bool(text: str) -> bool:
    raw = str(text).strip().lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise ValueError(text)
