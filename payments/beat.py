"""Scheduled jobs of the payments stage (merged into CELERY_BEAT_SCHEDULE; no Django imports here)."""

from celery.schedules import crontab

SCHEDULE = {
    "payments-payment-run-daily": {"task": "payments.tasks.payment_run_daily", "schedule": crontab(hour=6, minute=0)},
    "payments-dunning-daily": {"task": "payments.tasks.dunning_daily", "schedule": crontab(hour=7, minute=0)},
}
