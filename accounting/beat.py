"""Scheduled jobs of the accounting stage (merged into CELERY_BEAT_SCHEDULE; no Django imports here).

Invoicing and payments do not import accounting, so nothing is enqueued on posting: this job picks
up what was posted since its last pass."""

SCHEDULE = {
    "accounting-books-process": {"task": "accounting.tasks.books_process", "schedule": 600.0},
}
