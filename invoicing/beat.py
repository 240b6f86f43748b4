"""Scheduled jobs of invoicing (merged into CELERY_BEAT_SCHEDULE). Plain dict: no Django imports."""

SCHEDULE = {
    # Every 15 minutes: start the runs of the invoice schedules due today (each once per day).
    "invoicing-dispatch-schedules": {"task": "invoicing.tasks.invoice_schedules_dispatch", "schedule": 900.0},
}
