"""Business dates, computed in BILLING_TIME_ZONE.

Instants are stored in UTC; what a finance team calls "today" (invoice dates, service periods,
due dates) is the date in the billing time zone. Read the clock once per operation and pass
`today` down so tests and runs can set it.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def billing_zone() -> ZoneInfo:
    return ZoneInfo(settings.BILLING_TIME_ZONE)


def now() -> dt.datetime:
    """The current instant (aware, UTC)."""
    return timezone.now()


def today() -> dt.date:
    """Today's business date in the billing time zone."""
    return business_date(timezone.now())


def business_date(instant: dt.datetime) -> dt.date:
    """The business date of an instant in the billing time zone."""
    if timezone.is_naive(instant):
        raise ValueError("business_date needs an aware datetime")
    return instant.astimezone(billing_zone()).date()


def add_days(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days=days)


def inclusive_end(end: dt.date) -> dt.date:
    """Service periods are half-open [start, end): screens show the last day served."""
    return end - dt.timedelta(days=1)
