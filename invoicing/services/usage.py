"""Usage ingestion: bulk JSON or CSV, idempotent per record; bad rows rejected with their reason."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import ValidationFailed
from billing_site.limits import quantity_error
from billing_site.money import round_unit
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


def _parse_timestamp(value) -> dt.datetime | None:
    stamp: dt.datetime | None
    if isinstance(value, dt.datetime):
        stamp = value
    else:
        text = str(value or "").strip()
        stamp = parse_datetime(text.replace(" ", "T", 1)) if text else None
        if stamp is None and len(text) == 10:
            try:
                stamp = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(12))
            except ValueError:
                stamp = None
    if stamp is None:
        return None
    if timezone.is_naive(stamp):
        # A time without an offset is read in the billing time zone, as finance staff write it.
        stamp = stamp.replace(tzinfo=clock.billing_zone())
    return stamp


def usage_ingest(*, records: list[dict], actor, source: str = "api", first_row: int = 1) -> UsageIngestResult:
    """Import usage records: good rows are saved, duplicates (same subscription and key) counted and
    ignored, bad rows reported with their row number and reason."""
    if len(records) > MAX_RECORDS:
        raise ValidationFailed(
            _("At most %(max)s records per call; this one has %(count)s. Split it into several calls.")
            % {"max": f"{MAX_RECORDS:,}", "count": f"{len(records):,}"}
        )
    result = UsageIngestResult(received=len(records))
    sub_ids, pairs = set(), set()
    for rec in records:
        try:
            sub_ids.add(int(rec["subscription"]))
        except (TypeError, ValueError, KeyError):
            pass
        if isinstance(rec, dict) and rec.get("account") and rec.get("product"):
            pairs.add((str(rec.get("account")).strip(), str(rec.get("product")).strip()))
    subs = {s["id"]: s for s in Subscription.objects.filter(id__in=sub_ids).values(
        "id", "account_id", "account__number", "charge_type", "start_date", "end_date", "product__sku", "product__name")}
    by_account_product: dict[tuple[str, str], list] = {}
    if pairs:
        numbers = {a for a, _p in pairs}
        for s in Subscription.objects.filter(account__number__in=numbers, charge_type=Product.ChargeType.USAGE, status=Subscription.Status.ACTIVE).values(
            "id", "account_id", "account__number", "charge_type", "start_date", "end_date", "product__sku", "product__name"
        ):
            by_account_product.setdefault((s["account__number"], s["product__sku"]), []).append(s)
            subs.setdefault(s["id"], s)
    billed = _billed_usage_periods(subs.keys())

    batch = uuid.uuid4().hex
    valid: dict[tuple[int, str], UsageRecord] = {}
    in_payload_duplicates = 0
    for offset, rec in enumerate(records):
        row = first_row + offset
        try:
            obj = _validate(rec, subs, by_account_product, billed)
        except ValueError as exc:
            result.errors.append((row, str(exc)))
            continue
        key = (obj.subscription_id, obj.idempotency_key)
        if key in valid:
            in_payload_duplicates += 1
            continue
        obj.source, obj.ingest_batch = source, batch
        valid[key] = obj
    with transaction.atomic():
        # ON CONFLICT DO NOTHING: a record already stored (or stored by a concurrent call) is a duplicate.
        UsageRecord.objects.bulk_create(list(valid.values()), batch_size=2000, ignore_conflicts=True)
        result.imported = UsageRecord.objects.filter(ingest_batch=batch).count()
        result.duplicates = len(valid) - result.imported + in_payload_duplicates
        if result.imported and actor is not None:
            audit_record(obj=next(iter(valid.values())).subscription, action="usage_imported", actor=actor,
                         message=_("%(n)s usage records imported") % {"n": result.imported}, data=result.as_dict())
    return result


def _billed_usage_periods(subscription_ids) -> dict[int, list[tuple[dt.date, dt.date]]]:
    out: dict[int, list] = {}
    for e in ScheduleEntry.objects.filter(
        subscription_id__in=list(subscription_ids), kind=ScheduleEntry.Kind.USAGE, status=ScheduleEntry.Status.BILLED
    ).values("subscription_id", "period_start", "period_end"):
        out.setdefault(e["subscription_id"], []).append((e["period_start"], e["period_end"]))
    return out


def _validate(rec, subs, by_account_product, billed) -> UsageRecord:
    if not isinstance(rec, dict):
        raise ValueError(_("A record must be an object with subscription, quantity, timestamp and idempotency_key."))
    sub = None
    raw_sub = rec.get("subscription")
    if raw_sub is not None and raw_sub != "":
        try:
            sub = subs.get(int(raw_sub))
        except (TypeError, ValueError):
            raise ValueError(_("“%(value)s” is not a subscription id.") % {"value": raw_sub}) from None
        if sub is None:
            raise ValueError(_("Subscription %(value)s does not exist.") % {"value": raw_sub})
    elif rec.get("account") and rec.get("product"):
        matches = by_account_product.get((str(rec["account"]).strip(), str(rec["product"]).strip()), [])
        if not matches:
            raise ValueError(_("Account %(account)s has no active usage subscription of product %(product)s.")
                             % {"account": rec["account"], "product": rec["product"]})
        if len(matches) > 1:
            raise ValueError(_("Account %(account)s has several subscriptions of %(product)s: give the subscription id.")
                             % {"account": rec["account"], "product": rec["product"]})
        sub = matches[0]
    else:
        raise ValueError(_("Give a subscription id, or an account number and a product SKU."))
    if sub["charge_type"] != "usage":
        raise ValueError(_("Subscription %(id)s (%(product)s) is not billed on usage.") % {"id": sub["id"], "product": sub["product__name"]})
    key = str(rec.get("idempotency_key") or "").strip()
    if not key:
        raise ValueError(_("An idempotency key is required."))
    if len(key) > 200:
        raise ValueError(_("The idempotency key is longer than 200 characters."))
    try:
        quantity = Decimal(str(rec.get("quantity")).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ValueError(_("“%(value)s” is not a quantity.") % {"value": rec.get("quantity")}) from None
    if quantity.is_finite() and quantity < 0:
        raise ValueError(_("The quantity must be zero or more."))
    if error := quantity_error(quantity):
        raise ValueError(error)
    if round_unit(quantity) != quantity:
        raise ValueError(_("The quantity has more than 6 decimal places."))
    stamp = _parse_timestamp(rec.get("timestamp"))
    if stamp is None:
        raise ValueError(_("“%(value)s” is not a date and time (ISO 8601, e.g. 2025-03-01T10:00:00+01:00).") % {"value": rec.get("timestamp")})
    day = clock.business_date(stamp)
    if day < sub["start_date"] or (sub["end_date"] and day >= sub["end_date"]):
        raise ValueError(_("%(day)s is outside the subscription's service dates.") % {"day": day.isoformat()})
    for start, end in billed.get(sub["id"], ()):
        if start <= day < end:
            raise ValueError(_("The usage period holding %(day)s is already billed; record it as an adjustment.") % {"day": day.isoformat()})
    return UsageRecord(
        subscription_id=sub["id"], account_id=sub["account_id"], quantity=quantity, occurred_at=stamp,
        business_date=day, idempotency_key=key,
    )


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
