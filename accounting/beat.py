"""Scheduled jobs of the accounting stage (merged into CELERY_BEAT_SCHEDULE; no Django imports here).

Posting enqueues a books pass within seconds (accounting/tasks.py listens to the outbox); this job is
the safety net for what a lost enqueue or a killed worker left behind."""

SCHEDULE = {
    "accounting-books-process": {"task": "accounting.tasks.books_process", "schedule": 600.0},
}
