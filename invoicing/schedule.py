"""The billing schedule as invoicing uses it: the contracts services named in the brief, with a
private fallback while they are not there yet.

Contracts owns `ScheduleEntry`. Invoicing changes an entry's status only through
`contracts.services` (`schedule_entries_mark_billed`, `schedule_entries_mark_unbilled`,
`schedule_entry_set_usage_amount`). Until the contracts stage ships them, the FALLBACK functions
below do the same single conditional UPDATE; they are marked so they can be deleted then.
"""

from decimal import Decimal
from importlib import import_module
from importlib.util import find_spec

from django.db.models import Q

from contracts.models import ScheduleEntry

Status = ScheduleEntry.Status


def _contracts_service(name: str):
    if find_spec("contracts.services") is None:
        return None
    return getattr(import_module("contracts.services"), name, None)


def entries_mark_billed(*, entry_ids: list[int], billed_at) -> int:
    """pending → billed for these entries; returns how many changed (the caller compares)."""
    if not entry_ids:
        return 0
    service = _contracts_service("schedule_entries_mark_billed")
    if service is not None:
        return service(entry_ids=entry_ids, billed_at=billed_at)
    # FALLBACK (until contracts.services lands): conditional UPDATE, claims only pending rows.
    return ScheduleEntry.objects.filter(id__in=entry_ids, status=Status.PENDING).update(
        status=Status.BILLED, billed_at=billed_at
    )


def entries_mark_unbilled(*, entry_ids: list[int], actor=None) -> int:
    """billed → pending (cancel & rebill, discarded drafts); returns how many changed."""
    if not entry_ids:
        return 0
    service = _contracts_service("schedule_entries_mark_unbilled")
    if service is not None:
        result = service(entry_ids=entry_ids, actor=actor)
        return result if isinstance(result, int) else len(entry_ids)
    # FALLBACK (until contracts.services lands).
    return ScheduleEntry.objects.filter(id__in=entry_ids, status=Status.BILLED).update(
        status=Status.PENDING, billed_at=None
    )


def entry_set_usage_amount(*, entry_id: int, quantity: Decimal, amount: Decimal) -> None:
    """Record the rated quantity and amount of a pending usage entry."""
    service = _contracts_service("schedule_entry_set_usage_amount")
    if service is not None:
        service(entry=ScheduleEntry.objects.get(pk=entry_id), quantity=quantity, amount=amount)
        return
    # FALLBACK (until contracts.services lands).
    ScheduleEntry.objects.filter(id=entry_id, status=Status.PENDING, kind=ScheduleEntry.Kind.USAGE).update(
        quantity=quantity, amount=amount
    )


def due_entries_q(*, target_date, filters: dict | None = None) -> Q:
    """What a run with this target date and these filters bills: pending entries due by then."""
    filters = filters or {}
    q = Q(status=Status.PENDING, bill_on__lte=target_date, subscription__billing_rule__generate_invoices=True)
    if filters.get("account_ids"):
        q &= Q(account_id__in=[int(a) for a in filters["account_ids"]])
    if filters.get("legal_entity_id"):
        q &= Q(subscription__legal_entity_id=int(filters["legal_entity_id"]))
    if filters.get("currency"):
        q &= Q(currency=filters["currency"])
    if filters.get("billing_days"):
        q &= Q(account__billing_day__in=[int(d) for d in filters["billing_days"]])
    return q
