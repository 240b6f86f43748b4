"""Scheduled jobs of invoicing (merged into CELERY_BEAT_SCHEDULE). Plain dict: no Django imports."""

SCHEDULE = {
    # Every 15 minutes: start the runs of the invoice schedules due today (each once per day).
    "invoicing-dispatch-schedules": {"task": "invoicing.tasks.invoice_schedules_dispatch", "schedule": 900.0},
    # Every 30 seconds: chunks of running runs with no heartbeat for INVOICE_RUN_STALE_SECONDS are sent again.
    "invoicing-recover-runs": {"task": "invoicing.tasks.invoice_runs_recover", "schedule": 30.0},
}
