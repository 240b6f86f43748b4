"""Schedule writes: turning planned entries into rows, and what invoicing calls to bill them.

Invoicing calls `schedule_entries_mark_billed` inside its own transaction: the conditional
``UPDATE … WHERE status = 'pending'`` is the claim, so two runs (or an amendment cancelling an
entry at the same moment) cannot both take the same entry; the caller compares the count it gets
back with the number of ids it asked for and aborts when they differ.
"""

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from billing_site.audit import audit_record
from billing_site.errors import InvalidTransition, ValidationFailed
from billing_site.money import round_money, to_decimal
from catalog.models import Product
from catalog.pricing import Factor, add_months
from contracts import scheduling
from contracts.models import Order, ScheduleEntry, Subscription

# Evergreen subscriptions are scheduled this many months ahead, then extended by a daily job.
HORIZON_MONTHS = 12


def terms_of(subscription: Subscription, **overrides) -> scheduling.Terms:
    """The pure planner's view of a subscription's billing terms."""
    values: dict[str, Any] = {
        "charge_type": subscription.charge_type,
        "unit_price": subscription.unit_price,
        "price_term_months": subscription.price_term_months or 12,
        "frequency_months": subscription.billing_frequency,
        "billing_type": subscription.billing_type,
        "boundary": subscription.period_boundary,
        "day_count": subscription.day_count,
        "currency": subscription.currency,
        "anchor": subscription.period_anchor or subscription.start_date,
        "billing_day": subscription.billing_day,
    }
    values.update(overrides)
    return scheduling.Terms(**values)


def entry_of(row: ScheduleEntry) -> scheduling.Entry:
    """The pure planner's view of a schedule row."""
    return scheduling.Entry(
        id=row.pk, kind=row.kind, status=row.status, period_start=row.period_start, period_end=row.period_end,
        full_start=row.full_start, full_end=row.full_end, bill_on=row.bill_on, quantity=row.quantity,
        unit_price=row.unit_price, price_term_months=row.price_term_months, period_months=row.period_months,
        factor=Factor(row.factor_numerator, row.factor_denominator), amount=row.amount, credits=row.credits_id,
        note=row.note, delta=row.is_delta,
    )


def row_of(entry: scheduling.Entry, *, subscription: Subscription, order: Order) -> ScheduleEntry:
    """An unsaved schedule row for a planned entry."""
    return ScheduleEntry(
        subscription=subscription, contract_id=subscription.contract_id, account_id=subscription.account_id,
        source_order=order, kind=entry.kind, status=ScheduleEntry.Status.PENDING,
        period_start=entry.period_start, period_end=entry.period_end, full_start=entry.full_start,
        full_end=entry.full_end, bill_on=entry.bill_on, quantity=entry.quantity, unit_price=entry.unit_price,
        price_term_months=entry.price_term_months, period_months=entry.period_months,
        factor_numerator=entry.factor.numerator, factor_denominator=entry.factor.denominator,
        amount=entry.amount, currency=subscription.currency, credits_id=entry.credits, note=entry.note[:200],
        is_delta=entry.delta,
    )


def horizon(*, today: date, start: date) -> date:
    """How far ahead an evergreen subscription is scheduled."""
    return add_months(anchor=max(today, start), months=HORIZON_MONTHS)


def ahead_horizon(*, today: date, start: date) -> date:
    """How far ahead a partly scheduled termed subscription (a migrated contract) is scheduled."""
    return add_months(anchor=max(today, start), months=settings.MIGRATED_SCHEDULE_MONTHS)


def schedule_create(
    *, subscription: Subscription, order: Order, quantity, start: date, today: date, ahead: bool = False
) -> list[ScheduleEntry]:
    """Write the schedule of a new subscription from `start` to its end (or the evergreen horizon;
    with `ahead`, a termed subscription only to `ahead_horizon`)."""
    planned = schedule_plan(subscription=subscription, quantity=quantity, start=start, today=today, ahead=ahead)
    rows = ScheduleEntry.objects.bulk_create([row_of(e, subscription=subscription, order=order) for e in planned])
    if subscription.scheduled_until is not None:
        subscription.save(update_fields=["scheduled_until"])
    return rows


def schedule_plan(*, subscription: Subscription, quantity, start: date, today: date, ahead: bool = False) -> list[scheduling.Entry]:
    """The entries a new subscription's schedule gets from `start`, nothing written.

    An evergreen subscription is planned to the horizon and a termed one to its end, or, with
    `ahead` (a contract migrated from another system), only to `ahead_horizon`: the daily job writes
    the rest as the months pass, and an amendment writes it first. `scheduled_until` (on the object)
    says where a partial schedule stops; it stays blank when a termed schedule reaches the end."""
    terms = terms_of(subscription)
    until = None
    if subscription.end_date is None:
        until = horizon(today=today, start=start)
    elif ahead and settings.MIGRATED_SCHEDULE_MONTHS > 0 and subscription.charge_type != Product.ChargeType.ONE_TIME:
        until = ahead_horizon(today=today, start=start)
    planned = scheduling.entries_for(terms=terms, quantity=quantity, start=start, end=subscription.end_date, until=until)
    reached = max([e.period_end for e in planned], default=start)
    if subscription.end_date is None or (until is not None and reached < subscription.end_date):
        subscription.scheduled_until = reached
    return planned


def schedule_extension(subscription: Subscription, until: date, plans: dict | None = None) -> list[scheduling.Entry]:
    """The periods an evergreen or partly scheduled subscription still needs to reach `until` (a
    termed one never past its end), nothing written; sets `scheduled_until` on the object when there
    are some. `plans` caches the planner's answer for subscriptions with the same terms (a migration
    brings thousands alike)."""
    if not subscription.is_active:
        return []
    if subscription.end_date is not None and not subscription.is_partly_scheduled:
        return []
    start = subscription.scheduled_until or subscription.start_date
    if start >= until:
        return []
    terms = terms_of(subscription)
    key = (terms, subscription.quantity, start, subscription.end_date, until)
    planned = plans.get(key) if plans is not None else None
    if planned is None:
        planned = scheduling.entries_for(terms=terms, quantity=subscription.quantity, start=start, end=subscription.end_date, until=until)
        if plans is not None:
            if len(plans) >= 10_000:  # as many shapes as subscriptions: no use keeping them
                plans.clear()
            plans[key] = planned
    if planned:
        reached = planned[-1].period_end
        ended = subscription.end_date is not None and reached >= subscription.end_date
        subscription.scheduled_until = None if ended else reached
    return planned


def subscription_extend_schedule(*, subscription: Subscription, until: date) -> int:
    """Schedule the periods of an evergreen or partly scheduled subscription that start before
    `until` (a termed one never past its end); returns entries added.

    Safe to call twice or from two workers: the subscription row is locked and `scheduled_until`
    says where the previous extension stopped."""
    return _extend_many([subscription.pk], lambda _sub: until)


EXTEND_CHUNK = 500  # subscriptions locked and extended per transaction by the daily job


def _extend_many(ids: list[int], until_of: Callable[[Subscription], date]) -> int:
    """Write what `schedule_extension` plans for these subscriptions, a chunk per transaction, each
    subscription locked (only its row: an amendment locks the contract first)."""
    added = 0
    plans: dict = {}
    for first in range(0, len(ids), EXTEND_CHUNK):
        with transaction.atomic():
            subs = list(Subscription.objects.select_for_update(of=("self",)).select_related("contract")
                        .filter(pk__in=ids[first:first + EXTEND_CHUNK]).order_by("pk"))
            rows = []
            moved: dict[date | None, list[int]] = {}  # new scheduled_until -> subscriptions
            for sub in subs:
                planned = schedule_extension(sub, until_of(sub), plans)
                if planned:
                    rows += [row_of(e, subscription=sub, order=Order(pk=sub.contract.order_id)) for e in planned]
                    moved.setdefault(sub.scheduled_until, []).append(sub.pk)
            ScheduleEntry.objects.bulk_create(rows, batch_size=1000)
            for value, pks in moved.items():
                Subscription.objects.filter(pk__in=pks).update(scheduled_until=value)
            added += len(rows)
    return added


def _unscheduled(*, evergreen_before: date, termed_before: date):
    """Active subscriptions whose schedule stops too early: evergreen ones before `evergreen_before`,
    partly scheduled termed ones before `termed_before`."""
    evergreen = Q(end_date__isnull=True) & (Q(scheduled_until__isnull=True) | Q(scheduled_until__lt=evergreen_before))
    partial = Q(scheduled_until__isnull=False, scheduled_until__lt=F("end_date")) & Q(scheduled_until__lt=termed_before)
    return Subscription.objects.filter(evergreen | partial, status=Subscription.Status.ACTIVE)


def schedules_extend(*, today: date) -> int:
    """The daily job: every active evergreen subscription to the horizon, every partly scheduled
    termed one to `ahead_horizon`; returns entries added."""
    evergreen_until, ahead_until = horizon(today=today, start=today), ahead_horizon(today=today, start=today)
    ids = list(_unscheduled(evergreen_before=evergreen_until, termed_before=ahead_until).order_by("pk").values_list("pk", flat=True))
    return _extend_many(ids, lambda sub: evergreen_until if sub.end_date is None else ahead_until)


def schedules_extend_through(*, target_date: date) -> int:
    """Schedule every subscription at least through `target_date` (an invoice run bills entries due
    by then): what the daily job has not written yet, because it has not run or the date is far."""
    until = target_date + timedelta(days=1)
    ids = list(_unscheduled(evergreen_before=until, termed_before=until).order_by("pk").values_list("pk", flat=True))
    return _extend_many(ids, lambda sub: until)


def schedule_entries_mark_billed(*, entry_ids: list[int], billed_at) -> int:
    """Mark pending entries billed; returns how many were (compare with len(entry_ids) and abort if fewer).

    Usage entries not rated yet (no amount) are not billed."""
    entry_ids = list(entry_ids)
    if connection.vendor == "postgresql":
        # An invoice run claims ~1,000 entries per transaction: one array parameter, not 1,000 placeholders
        # that the driver would splice into the statement text on every call.
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ScheduleEntry._meta.db_table} SET status = %s, billed_at = %s "
                "WHERE id = ANY(%s::bigint[]) AND status = %s AND amount IS NOT NULL",
                [ScheduleEntry.Status.BILLED, billed_at, "{" + ",".join(str(int(i)) for i in entry_ids) + "}",
                 ScheduleEntry.Status.PENDING],
            )
            return cursor.rowcount
    return ScheduleEntry.objects.filter(
        pk__in=entry_ids, status=ScheduleEntry.Status.PENDING, amount__isnull=False
    ).update(status=ScheduleEntry.Status.BILLED, billed_at=billed_at)


@transaction.atomic
def schedule_entries_mark_unbilled(*, entry_ids: list[int], actor=None) -> int:
    """Put billed entries back to pending (an invoice was cancelled and will be billed again)."""
    rows = list(
        ScheduleEntry.objects.select_for_update().filter(pk__in=list(entry_ids), status=ScheduleEntry.Status.BILLED)
    )
    count = ScheduleEntry.objects.filter(pk__in=[r.pk for r in rows], status=ScheduleEntry.Status.BILLED).update(
        status=ScheduleEntry.Status.PENDING, billed_at=None
    )
    for contract_id in sorted({r.contract_id for r in rows}):
        contract_rows = [r for r in rows if r.contract_id == contract_id]
        audit_record(
            obj=contract_rows[0].contract, action="schedule_unbilled", actor=actor,
            message=_("%(count)s schedule entries back to “to bill”.") % {"count": len(contract_rows)},
            data={"entries": [r.pk for r in contract_rows]},
        )
    return count


@transaction.atomic
def schedule_entry_set_usage_amount(*, entry: ScheduleEntry, quantity, amount) -> ScheduleEntry:
    """Set the rated quantity and amount of a pending usage entry (the invoice run's rating)."""
    entry = ScheduleEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.kind != ScheduleEntry.Kind.USAGE:
        raise ValidationFailed(_("Only usage entries are rated."))
    if entry.status != ScheduleEntry.Status.PENDING:
        raise InvalidTransition(_("This usage period is already billed or cancelled."))
    quantity, amount = to_decimal(quantity), to_decimal(amount)
    if quantity < 0:
        raise ValidationFailed(fields={"quantity": [_("The used quantity must not be negative.")]})
    if round_money(amount, entry.currency) != amount:
        raise ValidationFailed(
            fields={"amount": [_("The amount must be rounded to the currency (%(currency)s).") % {"currency": entry.currency}]}
        )
    entry.quantity = quantity
    entry.amount = amount
    entry.save(update_fields=["quantity", "amount"])
    return entry
