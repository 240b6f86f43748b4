"""Schedule writes: turning planned entries into rows, and what invoicing calls to bill them.

Invoicing calls `schedule_entries_mark_billed` inside its own transaction: the conditional
``UPDATE … WHERE status = 'pending'`` is the claim, so two runs (or an amendment cancelling an
entry at the same moment) cannot both take the same entry; the caller compares the count it gets
back with the number of ids it asked for and aborts when they differ.
"""

from datetime import date
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from billing_site.audit import audit_record
from billing_site.errors import InvalidTransition, ValidationFailed
from billing_site.money import round_money, to_decimal
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


def schedule_create(*, subscription: Subscription, order: Order, quantity, start: date, today: date) -> list[ScheduleEntry]:
    """Write the schedule of a new subscription from `start` to its end (or the evergreen horizon)."""
    planned = schedule_plan(subscription=subscription, quantity=quantity, start=start, today=today)
    rows = ScheduleEntry.objects.bulk_create([row_of(e, subscription=subscription, order=order) for e in planned])
    if subscription.end_date is None:
        subscription.save(update_fields=["scheduled_until"])
    return rows


def schedule_plan(*, subscription: Subscription, quantity, start: date, today: date) -> list[scheduling.Entry]:
    """The entries a new subscription's schedule gets from `start`, nothing written; sets an evergreen
    subscription's `scheduled_until` (on the object) to where they stop."""
    terms = terms_of(subscription)
    until = None
    if subscription.end_date is None:
        until = horizon(today=today, start=start)
    planned = scheduling.entries_for(terms=terms, quantity=quantity, start=start, end=subscription.end_date, until=until)
    if subscription.end_date is None:
        subscription.scheduled_until = max([e.period_end for e in planned], default=start)
    return planned


@transaction.atomic
def subscription_extend_schedule(*, subscription: Subscription, until: date) -> int:
    """Schedule an evergreen subscription's periods that start before `until`; returns entries added.

    Safe to call twice or from two workers: the subscription row is locked and `scheduled_until`
    says where the previous extension stopped."""
    subscription = Subscription.objects.select_for_update().select_related("contract").get(pk=subscription.pk)
    if subscription.end_date is not None or subscription.status != Subscription.Status.ACTIVE:
        return 0
    start = subscription.scheduled_until or subscription.start_date
    if start >= until:
        return 0
    planned = scheduling.entries_for(
        terms=terms_of(subscription), quantity=subscription.quantity, start=start, end=None, until=until
    )
    if not planned:
        return 0
    order = subscription.contract.order
    ScheduleEntry.objects.bulk_create([row_of(e, subscription=subscription, order=order) for e in planned])
    subscription.scheduled_until = planned[-1].period_end
    subscription.save(update_fields=["scheduled_until"])
    return len(planned)


def schedules_extend(*, today: date) -> int:
    """Extend every active evergreen subscription to the horizon (the daily job)."""
    added = 0
    ids = Subscription.objects.filter(end_date__isnull=True, status=Subscription.Status.ACTIVE).values_list("pk", flat=True)
    for pk in ids.iterator():
        subscription = Subscription.objects.get(pk=pk)
        added += subscription_extend_schedule(subscription=subscription, until=horizon(today=today, start=today))
    return added


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
