"""Usage ingestion: bulk JSON or CSV, idempotent per record; bad rows rejected with their reason.

A call carries up to 10,000 records. They are checked in plain Python, no model instance and no
serializer per record: the subscriptions the call names are read with one query (two when records
name an account and a product), the usage periods already billed with another, and each good record
becomes a tuple. On PostgreSQL the tuples are COPYed into a temporary table and moved into the table
with one `INSERT … SELECT … ON CONFLICT (subscription, idempotency_key) DO NOTHING`: a record the
table already holds, from an earlier call or a concurrent one, is a duplicate, counted and not stored
(the unique constraint decides, not a read before the write). SQLite uses `bulk_create` with
`ignore_conflicts`, the same statement in effect.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import ValidationFailed
from billing_site.limits import MAX_QUANTITY, date_error, date_window, quantity_error
from billing_site.money import UNIT_QUANTUM
from billing_site.textfiles import decode_text
from catalog.models import Product
from contracts.models import ScheduleEntry, Subscription
from invoicing.models import UsageRecord

MAX_RECORDS = 10_000
CSV_COLUMNS = ("subscription", "account", "product", "quantity", "timestamp", "idempotency_key")


@dataclass
class UsageIngestResult:
    received: int = 0
    imported: int = 0
    duplicates: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "received": self.received, "imported": self.imported, "duplicates": self.duplicates,
            "rejected": len(self.errors), "errors": [{"row": row, "reason": reason} for row, reason in self.errors],
        }


def usage_ingest(*, records: list, actor, source: str = "api", first_row: int = 1, today: dt.date | None = None) -> UsageIngestResult:
    """Import usage records: good rows are saved, duplicates (same subscription and key, in the call or
    already stored) counted and ignored, bad rows reported with their row number and reason."""
    if len(records) > MAX_RECORDS:
        raise ValidationFailed(
            _("At most %(max)s records per call; this one has %(count)s. Split it into several calls.")
            % {"max": f"{MAX_RECORDS:,}", "count": f"{len(records):,}"}
        )
    result = UsageIngestResult(received=len(records))
    ctx = _context(records, today=today or clock.today())
    checked: list[tuple[int, tuple]] = []
    errors = result.errors
    for offset, rec in enumerate(records):
        try:
            checked.append((offset, _check(rec, ctx)))
        except ValueError as exc:
            errors.append((first_row + offset, str(exc)))
    if checked:
        checked = _refuse_billed(checked, errors=errors, first_row=first_row)
        errors.sort()
    rows: list[tuple] = []
    seen: set[tuple[int, str]] = set()
    in_payload_duplicates = 0
    for _offset, row in checked:
        key = (row[0], row[5])
        if key in seen:
            in_payload_duplicates += 1
            continue
        seen.add(key)
        rows.append(row)
    batch = uuid.uuid4().hex
    with transaction.atomic():
        if not rows:
            result.imported = 0
        elif connection.vendor == "postgresql":
            result.imported = _store_postgresql(rows, source=source, batch=batch, now=clock.now())
        else:
            result.imported = _store_orm(rows, source=source, batch=batch)
        result.duplicates = len(rows) - result.imported + in_payload_duplicates
        if result.imported and actor is not None:
            subscription = Subscription.objects.select_related("product").get(pk=rows[0][0])
            audit_record(obj=subscription, action="usage_imported", actor=actor,
                         message=_("%(n)s usage records imported") % {"n": result.imported}, data=result.as_dict())
    return result


_SUB_FIELDS = ("id", "account_id", "account__number", "charge_type", "start_date", "end_date", "product__sku", "product__name")


def _context(records: list, *, today: dt.date) -> _Context:
    """The subscriptions the records name, by id or by account number and product SKU, read once."""
    sub_ids, pairs = set(), set()
    for rec in records:
        if not isinstance(rec, dict):
            continue
        raw = rec.get("subscription")
        if raw is not None and raw != "":
            try:
                sub_ids.add(_subscription_id(raw))
            except (TypeError, ValueError, OverflowError):
                pass
        elif rec.get("account") and rec.get("product"):
            pairs.add((str(rec["account"]).strip(), str(rec["product"]).strip()))
    # An id past a bigint names no subscription (and would overflow the query).
    wanted = [i for i in sub_ids if 0 < i < 2**63]
    subs = {s["id"]: s for s in Subscription.objects.filter(id__in=wanted).values(*_SUB_FIELDS)} if wanted else {}
    by_account_product: dict[tuple[str, str], list[dict]] = {}
    if pairs:
        numbers = {a for a, _p in pairs}
        for s in Subscription.objects.filter(account__number__in=numbers, charge_type=Product.ChargeType.USAGE, status=Subscription.Status.ACTIVE).values(*_SUB_FIELDS):
            by_account_product.setdefault((s["account__number"], s["product__sku"]), []).append(s)
            subs.setdefault(s["id"], s)
    return _Context(subs=subs, by_account_product=by_account_product, today=today)


def _refuse_billed(checked: list[tuple[int, tuple]], *, errors: list, first_row: int) -> list[tuple[int, tuple]]:
    """The checked records whose day is in no usage period already billed; the others become errors.
    Only the billed periods that overlap the call's days are read (a feed sends recent usage, while a
    subscription bills a period a month for years)."""
    days = [row[4] for _o, row in checked]
    first, last = min(days), max(days)
    billed: dict[int, list[tuple[dt.date, dt.date]]] = {}
    for e in ScheduleEntry.objects.filter(
        subscription_id__in={row[0] for _o, row in checked}, kind=ScheduleEntry.Kind.USAGE, status=ScheduleEntry.Status.BILLED,
        period_start__lte=last, period_end__gt=first,
    ).values_list("subscription_id", "period_start", "period_end"):
        billed.setdefault(e[0], []).append((e[1], e[2]))
    if not billed:
        return checked
    kept = []
    for offset, row in checked:
        day = row[4]
        if any(start <= day < end for start, end in billed.get(row[0], ())):
            errors.append((first_row + offset, _("The usage period holding %(day)s is already billed; record it as an adjustment.")
                           % {"day": day.isoformat()}))
        else:
            kept.append((offset, row))
    return kept


class _Context:
    """What checking one record needs, read once per call: the subscriptions it may name, the billing
    time zone and the window of plausible dates."""

    __slots__ = ("subs", "by_account_product", "zone", "today", "first_day", "last_day")

    def __init__(self, *, subs, by_account_product, today: dt.date):
        self.subs = subs
        self.by_account_product = by_account_product
        self.zone = clock.billing_zone()
        self.today = today
        self.first_day, self.last_day = date_window(today)


def _subscription_id(raw) -> int:
    """The subscription id a record names; ValueError when it is not a whole number."""
    if type(raw) is int:
        return raw
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise ValueError(raw)
    return int(raw)


def _parse_timestamp(value, zone) -> dt.datetime | None:
    """An ISO 8601 date and time (a date alone is read as noon); without an offset, in the billing zone."""
    stamp: dt.datetime | None
    if isinstance(value, dt.datetime):
        stamp = value
    else:
        text = (value if type(value) is str else str(value or "")).strip()
        if not text:
            return None
        if len(text) == 10:
            try:
                stamp = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(12))
            except ValueError:
                return None
        else:
            try:
                stamp = dt.datetime.fromisoformat(text)
            except ValueError:
                try:
                    stamp = parse_datetime(text.replace(" ", "T", 1))
                except ValueError:  # well formed but not a real date: 2025-02-30T10:00
                    return None
                if stamp is None:
                    return None
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        # A time without an offset is read in the billing time zone, as finance staff write it.
        stamp = stamp.replace(tzinfo=zone)
    return stamp


def _quantity(raw) -> Decimal:
    """The quantity sent, a JSON number or a string; a decimal comma is read as a point."""
    text = raw if type(raw) is str else str(raw)
    try:
        return Decimal(text)
    except InvalidOperation:
        pass
    try:
        return Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(_("“%(value)s” is not a quantity.") % {"value": raw}) from None


def _check(rec, ctx: _Context) -> tuple:
    """One record as the row to store (subscription, account, quantity, occurred_at, business_date, key),
    or ValueError with the reason. Plain Python on values read beforehand: no query, no model. (Billed
    periods are checked afterwards, for the whole call: `_refuse_billed`.)"""
    if not isinstance(rec, dict):
        raise ValueError(_("A record must be an object with subscription, quantity, timestamp and idempotency_key."))
    raw_sub = rec.get("subscription")
    if raw_sub is not None and raw_sub != "":
        try:
            sub = ctx.subs.get(_subscription_id(raw_sub))
        except (TypeError, ValueError, OverflowError):
            raise ValueError(_("“%(value)s” is not a subscription id.") % {"value": raw_sub}) from None
        if sub is None:
            raise ValueError(_("Subscription %(value)s does not exist.") % {"value": raw_sub})
    elif rec.get("account") and rec.get("product"):
        matches = ctx.by_account_product.get((str(rec["account"]).strip(), str(rec["product"]).strip()), ())
        if not matches:
            raise ValueError(_("Account %(account)s has no active usage subscription of product %(product)s.")
                             % {"account": rec["account"], "product": rec["product"]})
        if len(matches) > 1:
            raise ValueError(_("Account %(account)s has several subscriptions of %(product)s: give the subscription id.")
                             % {"account": rec["account"], "product": rec["product"]})
        sub = matches[0]
    else:
        raise ValueError(_("Give a subscription id, or an account number and a product SKU."))
    if sub["charge_type"] != Product.ChargeType.USAGE:
        raise ValueError(_("Subscription %(id)s (%(product)s) is not billed on usage.") % {"id": sub["id"], "product": sub["product__name"]})
    key = rec.get("idempotency_key")
    key = (key if type(key) is str else str(key or "")).strip()
    if not key:
        raise ValueError(_("An idempotency key is required."))
    if len(key) > 200:
        raise ValueError(_("The idempotency key is longer than 200 characters."))
    if "\x00" in key:
        raise ValueError(_("The idempotency key contains a NUL character."))
    raw_quantity = rec.get("quantity")
    quantity = _quantity(raw_quantity)
    if not quantity.is_finite() or quantity > MAX_QUANTITY or quantity < -MAX_QUANTITY:
        raise ValueError(quantity_error(quantity))
    if quantity < 0:
        raise ValueError(_("The quantity must be zero or more."))
    if quantity.quantize(UNIT_QUANTUM, rounding=ROUND_HALF_UP) != quantity:
        raise ValueError(_("The quantity has more than 6 decimal places."))
    stamp = _parse_timestamp(rec.get("timestamp"), ctx.zone)
    if stamp is None:
        raise ValueError(_("“%(value)s” is not a date and time (ISO 8601, e.g. 2025-03-01T10:00:00+01:00).")
                         % {"value": rec.get("timestamp")})
    day = stamp.astimezone(ctx.zone).date()
    if not ctx.first_day <= day <= ctx.last_day:
        raise ValueError(date_error(day, ctx.today))
    if day < sub["start_date"] or (sub["end_date"] and day >= sub["end_date"]):
        raise ValueError(_("%(day)s is outside the subscription's service dates.") % {"day": day.isoformat()})
    return (sub["id"], sub["account_id"], quantity, stamp, day, key)


_COLUMNS = ("subscription_id", "account_id", "quantity", "occurred_at", "business_date", "idempotency_key")


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """A value in COPY's text format: backslash, tab, newline and carriage return escaped."""
    if "\\" in value or not value.isprintable():
        return value.translate(_COPY_ESCAPES)
    return value


def _store_postgresql(rows: list[tuple], *, source: str, batch: str, now: dt.datetime) -> int:
    """COPY the rows into a temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING; the
    number of rows stored. The rows go in key order: two calls with overlapping records then wait for
    each other in one direction only, never in a cycle (a deadlock)."""
    table = UsageRecord._meta.db_table
    columns = ", ".join(_COLUMNS)
    with connection.cursor() as cursor:
        # ON COMMIT DROP, and dropped first: a caller's outer transaction may hold one from an earlier call.
        cursor.execute("DROP TABLE IF EXISTS pg_temp.usage_incoming")
        cursor.execute(
            "CREATE TEMPORARY TABLE usage_incoming (subscription_id bigint, account_id bigint, quantity numeric(18, 6), "
            "occurred_at timestamptz, business_date date, idempotency_key varchar(200)) ON COMMIT DROP"
        )
        with cursor.cursor.copy(f"COPY usage_incoming ({columns}) FROM STDIN") as copy:
            copy.write("".join([
                f"{s}\t{a}\t{q}\t{o.isoformat()}\t{d.isoformat()}\t{_copy_text(k)}\n" for s, a, q, o, d, k in rows
            ]))
        cursor.execute(
            f"INSERT INTO {table} ({columns}, rated_entry_id, source, ingest_batch, created_at) "
            f"SELECT {columns}, NULL, %s, %s, %s FROM usage_incoming ORDER BY subscription_id, idempotency_key "
            "ON CONFLICT (subscription_id, idempotency_key) DO NOTHING",
            [source, batch, now],
        )
        return cursor.rowcount


def _store_orm(rows: list[tuple], *, source: str, batch: str) -> int:
    """SQLite (the embedded default): bulk_create with ignore_conflicts, stored rows counted by batch."""
    UsageRecord.objects.bulk_create(
        [UsageRecord(subscription_id=s, account_id=a, quantity=q, occurred_at=o, business_date=d, idempotency_key=k,
                     source=source, ingest_batch=batch) for s, a, q, o, d, k in rows],
        batch_size=2000, ignore_conflicts=True,
    )
    return UsageRecord.objects.filter(ingest_batch=batch).count()


def usage_parse_csv(*, content: bytes | str) -> list[dict]:
    """CSV rows as records (header: subscription or account+product, quantity, timestamp, idempotency_key)."""
    text = decode_text(content) if isinstance(content, bytes) else content
    sample = text[:2048]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = {"quantity", "timestamp", "idempotency_key"} - set(header)
    if missing or not ({"subscription"} <= set(header) or {"account", "product"} <= set(header)):
        raise ValidationFailed(
            fields={"file": [_("The header must name subscription (or account and product), quantity, timestamp and idempotency_key.")]}
        )
    reader.fieldnames = header
    return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
