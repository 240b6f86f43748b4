"""Bank statement parsers: CSV (English or French number formats) and CAMT.053 XML.

CAMT.053 (ISO 20022 bank-to-customer statement) is read with the standard library's ElementTree:
the PyPI parsers for it are young single-maintainer projects, and Recur needs only the entries
(amount, currency, credit/debit, booking date, remittance information, the debtor's name). Python's
expat refuses external entities, so a statement file cannot make the parser read local files.
Namespaces are ignored (`{*}`), so camt.053.001.02 to .08 all parse.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils.translation import gettext as _

from billing_site.errors import ValidationFailed
from billing_site.limits import amount_error, date_error
from billing_site.textfiles import decode_text

COLUMNS = ("date", "amount", "currency", "reference", "counterparty")
SPACES = re.compile(r"[\s\u00a0\u202f']")


@dataclass(frozen=True)
class ParsedLine:
    booking_date: dt.date
    amount: Decimal
    currency: str
    reference: str
    counterparty: str


def detect_format(content: bytes) -> str:
    head = content[:400]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    return "camt053" if head.startswith(b"<?xml") or head.startswith(b"<document") else "csv"


def parse_statement(content: bytes, fmt: str, *, today: dt.date | None = None) -> list[ParsedLine]:
    """The statement's lines; `today` bounds their dates (see `billing_site.limits`)."""
    return parse_camt053(content, today=today) if fmt == "camt053" else parse_csv(content, today=today)


def parse_amount(text: str) -> Decimal:
    """'1234.56', '1 234,56', '1.234,56', '1,234.56', '-12,00' → Decimal. A lone comma is decimal."""
    value = SPACES.sub("", text or "")
    if not value:
        raise ValueError("empty amount")
    if "," in value and "." in value:
        if value.rfind(",") > value.rfind("."):
            value = value.replace(".", "").replace(",", ".")
        else:
            value = value.replace(",", "")
    elif "," in value:
        value = value.replace(",", ".")
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not amount.is_finite():
        raise ValueError(text)
    return amount


def parse_date(text: str) -> dt.date:
    text = (text or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def parse_csv(content: bytes, *, today: dt.date | None = None) -> list[ParsedLine]:
    text = decode_text(content)
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ("\t" if "\t" in first else ",")
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS[:3] if c not in header]
    if missing:
        raise ValidationFailed(
            fields={"file": _("The CSV needs the columns date, amount, currency, reference, counterparty; missing: %(cols)s.")
                    % {"cols": ", ".join(missing)}}
        )
    out = []
    for number, raw in enumerate(reader, start=2):
        extra = [v for v in raw.pop(None, None) or [] if (v or "").strip()]
        if extra:
            raise ValidationFailed(fields={"file": _("Line %(line)s has more cells than the header has columns.") % {"line": number}})
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue
        out.append(_line(row, f"{number}", today))
    return out


def _line(row: dict, where: str, today: dt.date | None, negate: bool = False) -> ParsedLine:
    try:
        day = parse_date(row.get("date", ""))
    except ValueError as exc:
        raise ValidationFailed(fields={"file": _("Line %(line)s: “%(value)s” is not a date.") % {"line": where, "value": row.get("date")}}) from exc
    if today is not None and (error := date_error(day, today)):
        raise ValidationFailed(fields={"file": _("Line %(line)s: %(error)s") % {"line": where, "error": error}})
    try:
        amount = parse_amount(row.get("amount", ""))
    except ValueError as exc:
        raise ValidationFailed(fields={"file": _("Line %(line)s: “%(value)s” is not an amount.") % {"line": where, "value": row.get("amount")}}) from exc
    if error := amount_error(amount):
        raise ValidationFailed(fields={"file": _("Line %(line)s: %(error)s") % {"line": where, "error": error}})
    if negate:
        amount = -amount
    currency = (row.get("currency") or "").upper()
    if currency not in settings.CURRENCIES:
        raise ValidationFailed(fields={"file": _("Line %(line)s: “%(value)s” is not a supported currency.") % {"line": where, "value": currency}})
    from billing_site.money import round_money

    if round_money(amount, currency) != amount:
        raise ValidationFailed(fields={"file": _("Line %(line)s: too many decimals for %(currency)s.") % {"line": where, "currency": currency}})
    return ParsedLine(day, round_money(amount, currency), currency, row.get("reference", ""), row.get("counterparty", ""))


def _text(node, path: str) -> str:
    found = node.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def parse_camt053(content: bytes, *, today: dt.date | None = None) -> list[ParsedLine]:
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise ValidationFailed(fields={"file": _("The XML file cannot be read: %(error)s") % {"error": exc}}) from exc
    statements = root.findall(".//{*}Stmt")
    if not statements:
        raise ValidationFailed(fields={"file": _("This XML file is not a CAMT.053 statement (no Stmt element).")})
    out = []
    for statement in statements:
        for index, entry in enumerate(statement.findall("{*}Ntry"), start=1):
            amt = entry.find("{*}Amt")
            if amt is None:
                continue
            day = _text(entry, "{*}BookgDt/{*}Dt") or _text(entry, "{*}BookgDt/{*}DtTm")[:10] or _text(entry, "{*}ValDt/{*}Dt")
            details = entry.find(".//{*}TxDtls")
            scope = details if details is not None else entry
            unstructured = " ".join((n.text or "").strip() for n in scope.findall(".//{*}RmtInf/{*}Ustrd") if n.text)
            structured = " ".join((n.text or "").strip() for n in scope.findall(".//{*}RmtInf/{*}Strd/{*}CdtrRefInf/{*}Ref") if n.text)
            reference = " ".join(p for p in (structured, unstructured, _text(entry, "{*}AddtlNtryInf")) if p)
            debtor = _text(scope, ".//{*}RltdPties/{*}Dbtr/{*}Nm") or _text(scope, ".//{*}RltdPties/{*}Dbtr/{*}Pty/{*}Nm")
            row = {
                "date": day, "amount": (amt.text or "").strip(),
                "currency": amt.get("Ccy", ""), "reference": reference, "counterparty": debtor,
            }
            out.append(_line(row, _("entry %(n)s") % {"n": index}, today, negate=_text(entry, "{*}CdtDbtInd") == "DBIT"))
    return out
