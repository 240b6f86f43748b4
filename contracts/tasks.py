"""Contract jobs: thin wrappers around services, safe to run twice."""

from celery import shared_task

from billing_site import clock
from contracts import services


@shared_task(name="contracts.tasks.renewals_create")
def renewals_create() -> dict:
    """Renew (or quote the renewal of) contracts ending within RENEWAL_NOTICE_DAYS, then expire ended ones."""
    today = clock.today()
    counts = services.renewals_create(today=today)
    counts["expired"] = services.contracts_expire(today=today)
    return counts


@shared_task(name="contracts.tasks.schedules_extend")
def schedules_extend() -> int:
    """Extend evergreen subscriptions' schedules to the horizon."""
    return services.schedules_extend(today=clock.today())
