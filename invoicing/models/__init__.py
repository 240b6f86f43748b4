"""Invoicing models: runs and schedules, invoices, credit notes, number series, usage."""

from invoicing.models.bulk import BULK_MAX_DOCUMENTS, BulkJob, DocumentSend
from invoicing.models.documents import (
    CreditNote,
    CreditNoteLine,
    DocumentType,
    Invoice,
    InvoiceLine,
    LineSource,
    NumberSeries,
    PaymentStatus,
)
from invoicing.models.runs import InvoiceRun, InvoiceRunChunk, InvoiceRunError, InvoiceSchedule
from invoicing.models.usage import UsageRecord

__all__ = [
    "BULK_MAX_DOCUMENTS",
    "BulkJob",
    "DocumentSend",
    "CreditNote",
    "CreditNoteLine",
    "DocumentType",
    "Invoice",
    "InvoiceLine",
    "InvoiceRun",
    "InvoiceRunChunk",
    "InvoiceRunError",
    "InvoiceSchedule",
    "LineSource",
    "NumberSeries",
    "PaymentStatus",
    "UsageRecord",
]
