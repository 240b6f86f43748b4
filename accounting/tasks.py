"""Celery tasks: thin wrappers around the accounting services, safe to run twice (the database
journals each document once)."""

from celery import shared_task

from billing_site import clock


@shared_task(name="accounting.tasks.books_process", acks_late=True)
def books_process() -> dict:
    """Beat: journal the posted documents not yet in the books and write their revenue schedules."""
    from accounting import services

    return services.books_process(today=clock.today())
