"""Celery tasks: thin wrappers that read the clock once and call one service. Safe to run twice:
the day's scheduled run is one row, attempts are claimed under UNIQUE constraints, dunning events
are UNIQUE per (invoice, step)."""

from celery import shared_task

from billing_site import clock


@shared_task(name="payments.tasks.payment_run_daily", acks_late=True)
def payment_run_daily() -> dict:
    """Beat: charge today's due invoices of autopay accounts and retry due transient declines."""
    from payments import services
    from payments.models import PaymentRun

    today = clock.today()
    run = services.payment_run_start(today=today, trigger=PaymentRun.Trigger.SCHEDULED)
    run = services.payment_run_execute(run=run, today=today)
    return {"run": run.pk, "attempts": run.attempts_count, "succeeded": run.succeeded_count}


@shared_task(name="payments.tasks.dunning_daily", acks_late=True)
def dunning_daily() -> dict:
    """Beat: send the dunning steps that are due today."""
    from payments import services

    return services.dunning_run(today=clock.today())


@shared_task(name="payments.tasks.statement_match_task", acks_late=True)
def statement_match_task(statement_id: int) -> dict:
    """Match an uploaded bank statement's lines (safe to run twice: only waiting lines are matched)."""
    from payments import services

    statement = services.statement_match(statement_id=statement_id, today=clock.today())
    return {"statement": statement.pk, "status": statement.status, "matched": statement.matched_count}
