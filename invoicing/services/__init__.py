"""Invoicing writes. Split by subject: billing engine, writing, runs, documents, usage, schedules."""

from invoicing.services.bulk import bulk_job_create, bulk_job_process, document_send_now, documents_zip_stream
from invoicing.services.documents import (
    credit_note_create,
    credit_note_discard,
    credit_note_post,
    invoice_cancel_and_rebill,
    invoice_discard,
    invoice_post,
    invoice_regenerate,
    invoice_settle,
    invoices_settle,
    payment_status_for,
)
from invoicing.services.opening import invoice_create_opening
from invoicing.services.runs import (
    invoice_run_cancel,
    invoice_run_create,
    invoice_run_execute,
    invoice_run_finalize,
    invoice_run_prepare,
    invoice_run_process_chunk,
    invoice_run_resume,
)
from invoicing.services.schedules import invoice_schedule_save, invoice_schedules_dispatch
from invoicing.services.usage import usage_ingest, usage_parse_csv

__all__ = [
    "bulk_job_create",
    "bulk_job_process",
    "document_send_now",
    "documents_zip_stream",
    "credit_note_create",
    "credit_note_discard",
    "credit_note_post",
    "invoice_cancel_and_rebill",
    "invoice_create_opening",
    "invoice_discard",
    "invoice_post",
    "invoice_regenerate",
    "invoice_settle",
    "invoices_settle",
    "invoice_run_cancel",
    "invoice_run_create",
    "invoice_run_execute",
    "invoice_run_finalize",
    "invoice_run_prepare",
    "invoice_run_process_chunk",
    "invoice_run_resume",
    "invoice_schedule_save",
    "invoice_schedules_dispatch",
    "payment_status_for",
    "usage_ingest",
    "usage_parse_csv",
]
