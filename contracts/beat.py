"""Daily contract jobs (merged into CELERY_BEAT_SCHEDULE by the settings). No Django imports here."""

from celery.schedules import crontab

SCHEDULE = {
    "contracts-renewals": {"task": "contracts.tasks.renewals_create", "schedule": crontab(hour=5, minute=10)},
    "contracts-schedules-extend": {"task": "contracts.tasks.schedules_extend", "schedule": crontab(hour=5, minute=20)},
}
