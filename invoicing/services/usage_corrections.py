"""Correcting one usage record by hand (the admin), before any run has rated it.

A record that a run rated, or whose day falls in a usage period already billed, is part of an
invoice: it is never changed (the invoice shows its total); a mistake is corrected with an
adjustment on the next invoice, as the ingestion service says.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import Immutable, ValidationFailed
from billing_site.money import round_unit
from contracts.models import ScheduleEntry
from invoicing.models import UsageRecord

CORRECTABLE_FIELDS = ("quantity", "occurred_at")


def _billed_message() -> str:
    return _("This usage is already billed: it cannot be changed. Record an adjustment instead.")


def usage_record_check(*, record: UsageRecord, data: dict) -> dict:
    """The validated changes (business date recomputed from the time), or ValidationFailed / Immutable."""
    unknown = sorted(set(data) - set(CORRECTABLE_FIELDS))
    if unknown:
        raise ValidationFailed(fields={f: [_("This field cannot be changed.")] for f in unknown})
    clean: dict[str, Any] = {}
    if "quantity" in data:
        try:
            quantity = Decimal(str(data["quantity"]))
        except (InvalidOperation, ValueError):
            raise ValidationFailed(fields={"quantity": [_("“%(value)s” is not a quantity.") % {"value": data["quantity"]}]}) from None
        if not quantity.is_finite() or quantity < 0:
            raise ValidationFailed(fields={"quantity": [_("The quantity must be zero or more.")]})
        if round_unit(quantity) != quantity:
            raise ValidationFailed(fields={"quantity": [_("The quantity has more than 6 decimal places.")]})
        clean["quantity"] = quantity
    if "occurred_at" in data:
        clean["occurred_at"] = data["occurred_at"]
        clean["business_date"] = clock.business_date(data["occurred_at"])
    if record.rated_entry_id is not None:
        raise Immutable(_billed_message())
    days = {record.business_date, clean.get("business_date", record.business_date)}
    billed = ScheduleEntry.objects.filter(
        subscription_id=record.subscription_id, kind=ScheduleEntry.Kind.USAGE, status=ScheduleEntry.Status.BILLED,
    )
    if any(billed.filter(period_start__lte=day, period_end__gt=day).exists() for day in days):
        raise Immutable(_billed_message())
    return clean


@transaction.atomic
def usage_record_correct(*, record: UsageRecord, actor, data: dict) -> UsageRecord:
    """Change the quantity or time of a usage record no run has rated; audited with old and new values."""
    before = UsageRecord.objects.get(pk=record.pk)
    clean = {f: v for f, v in usage_record_check(record=before, data=data).items() if getattr(before, f) != v}
    if not clean:
        return record
    # Claim by conditional UPDATE: a run rating this record at the same moment wins, and we refuse.
    if not UsageRecord.objects.filter(pk=record.pk, rated_entry__isnull=True).update(**clean):
        raise Immutable(_billed_message())
    audit_record(
        obj=before.subscription, action="usage_corrected", actor=actor, message=before.idempotency_key,
        data={f: [str(getattr(before, f)), str(v)] for f, v in clean.items()},
    )
    record.refresh_from_db()
    return record
