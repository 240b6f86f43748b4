"""Scheduled quote jobs (merged into CELERY_BEAT_SCHEDULE). Plain data: no Django imports here."""

from celery.schedules import crontab

SCHEDULE = {
    "quotes-expire": {"task": "quotes.tasks.quotes_expire", "schedule": crontab(hour=0, minute=15)},
}
