"""Invoice schedules: when each starts a run, and the beat job that dispatches the due ones."""

from __future__ import annotations

import calendar
import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import ValidationFailed
from invoicing.models import InvoiceRun, InvoiceSchedule
from invoicing.services.runs import filters_clean, invoice_run_create

Frequency = InvoiceSchedule.Frequency
SCHEDULE_FIELDS = (
    "name", "frequency", "run_date", "weekday", "day_of_month", "target_offset_days", "invoice_offset_days",
    "auto_post", "filters", "active",
)


def schedule_next_date(schedule: InvoiceSchedule, *, on_or_after: dt.date) -> dt.date | None:
    """The first day on or after `on_or_after` this schedule runs (None: a past one-off)."""
    if schedule.frequency == Frequency.ONCE:
        return schedule.run_date if schedule.run_date and schedule.run_date >= on_or_after else None
    if schedule.frequency == Frequency.DAILY:
        return on_or_after
    if schedule.frequency == Frequency.WEEKLY:
        assert schedule.weekday is not None, "_validate refuses a weekly schedule without a weekday"
        return on_or_after + dt.timedelta(days=(schedule.weekday - on_or_after.weekday()) % 7)
    assert schedule.day_of_month is not None, "_validate refuses a monthly schedule without a day"
    year, month = on_or_after.year, on_or_after.month
    for _i in range(2):
        day = min(schedule.day_of_month, calendar.monthrange(year, month)[1])
        candidate = dt.date(year, month, day)
        if candidate >= on_or_after:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _validate(schedule: InvoiceSchedule) -> None:
    errors = {}
    if schedule.frequency == Frequency.ONCE and not schedule.run_date:
        errors["run_date"] = [_("A one-off schedule needs the day to run.")]
    if schedule.frequency == Frequency.WEEKLY and schedule.weekday is None:
        errors["weekday"] = [_("A weekly schedule needs a weekday.")]
    if schedule.frequency == Frequency.MONTHLY and not schedule.day_of_month:
        errors["day_of_month"] = [_("A monthly schedule needs a day of month.")]
    if schedule.day_of_month is not None and not 1 <= schedule.day_of_month <= 31:
        errors["day_of_month"] = [_("1–31; clamped to the last day in shorter months.")]
    if not (schedule.name or "").strip():
        errors["name"] = [_("A name is required.")]
    elif InvoiceSchedule.objects.filter(name=schedule.name).exclude(pk=schedule.pk).exists():
        errors["name"] = [_("Another schedule has this name.")]
    if errors:
        raise ValidationFailed(fields=errors)


def invoice_schedule_save(*, actor, data: dict, schedule: InvoiceSchedule | None = None, today: dt.date | None = None) -> InvoiceSchedule:
    """Create or edit a schedule; its next run day is recomputed from today."""
    today = today or clock.today()
    unknown = set(data) - set(SCHEDULE_FIELDS)
    if unknown:
        raise ValidationFailed(fields={f: [_("Unknown field.")] for f in unknown})
    with transaction.atomic():
        creating = schedule is None
        schedule = InvoiceSchedule() if schedule is None else InvoiceSchedule.objects.select_for_update().get(pk=schedule.pk)
        for key, value in data.items():
            setattr(schedule, key, value)
        schedule.filters = filters_clean(schedule.filters)
        _validate(schedule)
        schedule.next_run_date = schedule_next_date(schedule, on_or_after=today) if schedule.active else None
        if creating and getattr(actor, "is_authenticated", False):
            schedule.created_by = actor
        schedule.save()
        audit_record(obj=schedule, action="created" if creating else "updated", actor=actor,
                     data={"next_run_date": str(schedule.next_run_date)})
    return schedule


def invoice_schedules_dispatch(*, today: dt.date | None = None, start: bool = True, synchronous: bool = False) -> list[InvoiceRun]:
    """Start a run for every active schedule due today (a missed day runs once, today).

    Each schedule is claimed with a conditional UPDATE on its next run day, so two beat processes
    (or a retried task) never start the same schedule's run twice."""
    from invoicing.services.runs import invoice_run_execute

    today = today or clock.today()
    runs = []
    for schedule in InvoiceSchedule.objects.filter(active=True, next_run_date__lte=today).order_by("id"):
        following = schedule_next_date(schedule, on_or_after=today + dt.timedelta(days=1))
        with transaction.atomic():
            claimed = InvoiceSchedule.objects.filter(pk=schedule.pk, next_run_date=schedule.next_run_date).update(
                next_run_date=following, last_run_date=today, active=following is not None
            )
            if not claimed:
                continue
            run = invoice_run_create(
                actor=None, target_date=today + dt.timedelta(days=schedule.target_offset_days),
                invoice_date=today + dt.timedelta(days=schedule.invoice_offset_days), filters=schedule.filters,
                auto_post=schedule.auto_post, schedule=schedule, start=start and not synchronous,
            )
        if synchronous:
            run = invoice_run_execute(run=run)
        runs.append(run)
    return runs
