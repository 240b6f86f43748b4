"""Celery tasks: thin wrappers that take ids and call one service; safe to run twice."""

import logging
import smtplib

from celery import shared_task
from celery.signals import worker_process_init
from django.db import InterfaceError, OperationalError

from invoicing.services import delivery, runs, schedules

log = logging.getLogger(__name__)

# Errors that pass: the database restarting or failing over, the mail server busy or unreachable.
# Retried with exponential backoff (2, 4, 8 … s, at most 10 minutes, with jitter); anything else is a
# bug or bad data and is not retried blindly.
TRANSIENT = (OperationalError, InterfaceError, smtplib.SMTPException, ConnectionError, TimeoutError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": 2, "retry_backoff_max": 600, "retry_jitter": True}


@shared_task(name="invoicing.tasks.invoice_run_start", acks_late=True)
def invoice_run_start(run_id: int) -> int:
    """Cut the run into chunks and send one task per chunk (any worker takes any chunk)."""
    runs.invoice_run_prepare(run_id=run_id)
    indexes = runs.invoice_run_dispatch_chunks(run_id=run_id)
    for index in indexes:
        invoice_run_chunk.delay(run_id, index)
    return len(indexes)


@shared_task(name="invoicing.tasks.invoice_run_chunk", acks_late=True, max_retries=5, **RETRY)
def invoice_run_chunk(run_id: int, index: int) -> None:
    """Bill one chunk; a redelivered or retried task resumes where the last commit stopped."""
    runs.invoice_run_process_chunk(run_id=run_id, index=index)


@shared_task(name="invoicing.tasks.invoice_runs_recover")
def invoice_runs_recover() -> int:
    """Beat: send again the chunks whose worker died (stale heartbeat)."""
    return len(runs.invoice_runs_recover())


@shared_task(name="invoicing.tasks.invoice_schedules_dispatch")
def invoice_schedules_dispatch() -> int:
    """Beat: start the runs of the schedules due today."""
    return len(schedules.invoice_schedules_dispatch())


@shared_task(name="invoicing.tasks.documents_deliver", acks_late=True, max_retries=5, **RETRY)
def documents_deliver(invoice_ids: list, credit_note_ids: list) -> int:
    """Render the PDFs of posted documents and email them (each sent once, claimed before sending:
    a retry after a mail error sends only what was not sent)."""
    return delivery.documents_deliver(invoice_ids=invoice_ids, credit_note_ids=credit_note_ids)


@shared_task(name="invoicing.tasks.documents_render_pdfs", acks_late=True, max_retries=5, **RETRY)
def documents_render_pdfs(invoice_ids: list, credit_note_ids: list) -> int:
    """Render and store the PDFs of a batch of posted documents (those without one): one task for
    many documents, in a process where the renderer is already warm."""
    return delivery.documents_render_pdfs(invoice_ids=invoice_ids, credit_note_ids=credit_note_ids)


@worker_process_init.connect
def _warm_up_pdf_renderer(**kwargs) -> None:
    """Each worker process loads WeasyPrint, the fonts and the PDF stylesheet when it starts, not
    during its first document (about half a second). A failure here only costs that time later."""
    try:
        delivery.pdf_warm_up()
    except Exception:  # the first real render reports what is wrong
        log.exception("PDF renderer warm-up failed")


@shared_task(name="invoicing.tasks.invoice_render_pdf", acks_late=True)
def invoice_render_pdf(invoice_id: int) -> None:
    """Render (again) one invoice's PDF."""
    from invoicing.models import Invoice

    delivery.document_render_pdf(document=Invoice.objects.get(pk=invoice_id))


@shared_task(name="invoicing.tasks.bulk_job_process", acks_late=True, max_retries=3)
def bulk_job_process(job_id: int) -> None:
    """Post or send the documents of a bulk job; a redelivered task resumes after the last batch."""
    from invoicing.services import bulk

    bulk.bulk_job_process(job_id=job_id)
