"""Bulk work: post many drafts, send (or resend) many posted documents, on the workers with progress.

`bulk_job_create` checks the request and records a job; the worker's `bulk_job_process` claims it
with a conditional UPDATE (queued → running), then handles its documents in batches, one
transaction per batch that also moves `position`, so the page's progress is what is committed and a
task delivered twice resumes after the last batch instead of starting over. Each document goes
through the one service for its action (`invoice_post`, `document_send`); a document that cannot be
handled is counted and explained, never stops the job.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import DomainError, ValidationFailed
from invoicing.models import (
    BULK_MAX_DOCUMENTS,
    BulkJob,
    CreditNote,
    DocumentSend,
    DocumentType,
    Invoice,
    InvoiceRun,
)
from invoicing.services.delivery import document_pdf_bytes, document_recipients, document_send

BATCH = 25
# A ZIP of PDFs is built while it is downloaded; past this many documents, use a filter per month.
ZIP_MAX_DOCUMENTS = 500


def _model(document_type: str):
    return Invoice if document_type == DocumentType.INVOICE else CreditNote


def _clean_ids(ids, *, limit: int = BULK_MAX_DOCUMENTS) -> list[int]:
    try:
        cleaned = sorted({int(i) for i in ids})
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"ids": [_("Document ids must be whole numbers.")]}) from None
    if not cleaned:
        raise ValidationFailed(fields={"ids": [_("Choose at least one document.")]})
    if len(cleaned) > limit:
        raise ValidationFailed(fields={"ids": [_("At most %(n)s documents at once.") % {"n": f"{limit:,}"}]})
    return cleaned


def bulk_job_create(*, kind: str, actor, ids=None, document_type: str = DocumentType.INVOICE, run: InvoiceRun | None = None,
                    resend: bool = False, start: bool = True) -> BulkJob:
    """Record a bulk post or send of the chosen documents (or of every draft of a run) and queue it."""
    if kind not in BulkJob.Kind.values:
        raise ValidationFailed(fields={"kind": [_("Unknown bulk action.")]})
    if document_type not in DocumentType.values:
        raise ValidationFailed(fields={"document_type": [_("Unknown document type.")]})
    model = _model(document_type)
    if run is not None:
        ids = list(Invoice.objects.filter(run=run, status=Invoice.Status.DRAFT).values_list("pk", flat=True))
        if not ids:
            raise ValidationFailed(_("Run %(id)s has no draft invoice left to post.") % {"id": run.pk})
    ids = _clean_ids(ids or [])
    found = model.objects.filter(pk__in=ids)
    if found.count() != len(ids):
        raise ValidationFailed(fields={"ids": [_("Some of the chosen documents do not exist.")]})
    if kind == BulkJob.Kind.POST and found.exclude(status=model.Status.DRAFT).exists():
        raise ValidationFailed(fields={"ids": [_("Only drafts can be posted; some of the chosen documents are already posted.")]})
    if kind == BulkJob.Kind.SEND and found.filter(status=model.Status.DRAFT).exists():
        raise ValidationFailed(fields={"ids": [_("Drafts cannot be sent; post them first.")]})
    with transaction.atomic():
        job = BulkJob.objects.create(
            kind=kind, document_type=document_type, object_ids=ids, run=run, resend=resend,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(obj=job, action="created", actor=actor, message=job.get_kind_display(), data={"count": len(ids)})
        if start:
            from invoicing import tasks

            transaction.on_commit(lambda: tasks.bulk_job_process.delay(job.pk))
    return job


def _handle(job: BulkJob, document, actor) -> str:
    """One document: "ok", "skipped" (nothing to do), or raises DomainError."""
    if job.kind == BulkJob.Kind.POST:
        if document.status != document.Status.DRAFT:
            return "skipped"  # posted by someone else meanwhile: the wanted state is reached
        from invoicing.services.documents import credit_note_post, invoice_post

        if isinstance(document, Invoice):
            invoice_post(invoice=document, actor=actor, today=clock.today())
        else:
            credit_note_post(credit_note=document, actor=actor, today=clock.today())
        return "ok"
    recipients = document_recipients(document)
    if not recipients:
        raise ValidationFailed(_("No billing email on the account."))
    if not document_send(document=document, force=job.resend):
        return "skipped"  # already sent (and not asked to send again)
    DocumentSend.objects.create(
        account_id=document.account_id, invoice=document if isinstance(document, Invoice) else None,
        credit_note=document if isinstance(document, CreditNote) else None, recipients=", ".join(recipients),
        resend=job.resend, job=job, sent_at=clock.now(), sent_by=actor,
    )
    return "ok"


def bulk_job_process(*, job_id: int) -> BulkJob:
    """Claim the job and work through its documents in batches (safe to run twice)."""
    claimed = BulkJob.objects.filter(pk=job_id, status=BulkJob.Status.QUEUED).update(status=BulkJob.Status.RUNNING, started_at=clock.now())
    job = BulkJob.objects.select_related("created_by").get(pk=job_id)
    if not claimed and job.status != BulkJob.Status.RUNNING:
        return job  # finished already
    actor = job.created_by
    model = _model(job.document_type)
    while job.position < len(job.object_ids):
        batch = job.object_ids[job.position:job.position + BATCH]
        counts, errors = {"ok": 0, "skipped": 0, "failed": 0}, []
        documents = model.objects.in_bulk(batch)
        for pk in batch:
            document = documents.get(pk)
            if document is None:
                counts["skipped"] += 1
                continue
            try:
                # Each document in its own savepoint: a refused one leaves the others of the batch intact.
                with transaction.atomic():
                    counts[_handle(job, document, actor)] += 1
            except DomainError as exc:
                counts["failed"] += 1
                errors.append({"id": pk, "document": str(document), "message": " ".join([str(exc.message), *(
                    m for msgs in exc.fields.values() for m in msgs)]).strip()})
        with transaction.atomic():
            BulkJob.objects.filter(pk=job.pk).update(
                position=F("position") + len(batch), succeeded=F("succeeded") + counts["ok"],
                skipped=F("skipped") + counts["skipped"], failed=F("failed") + counts["failed"],
            )
            if errors:
                locked = BulkJob.objects.select_for_update().get(pk=job.pk)
                locked.errors = (locked.errors + errors)[:500]
                locked.save(update_fields=["errors"])
        job.refresh_from_db()
    BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.RUNNING).update(status=BulkJob.Status.DONE, finished_at=clock.now())
    job.refresh_from_db()
    audit_record(obj=job, action="finished", actor=actor, message=_("%(ok)s done, %(skipped)s skipped, %(failed)s failed") % {
        "ok": job.succeeded, "skipped": job.skipped, "failed": job.failed})
    return job


def document_send_now(*, document, actor, resend: bool = False) -> DocumentSend | None:
    """Send one posted document by email now and log it; None when it was already sent and not resent."""
    if document.status == document.Status.DRAFT:
        raise ValidationFailed(_("Drafts cannot be sent; post them first."))
    recipients = document_recipients(document)
    if not recipients:
        raise ValidationFailed(_("No billing email on the account."))
    if not document_send(document=document, force=resend):
        return None
    return DocumentSend.objects.create(
        account_id=document.account_id, invoice=document if isinstance(document, Invoice) else None,
        credit_note=document if isinstance(document, CreditNote) else None, recipients=", ".join(recipients),
        resend=resend, sent_at=clock.now(), sent_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


class _Sink(io.RawIOBase):
    """A write-only stream whose bytes are taken out as they come (zipfile writes to it without seeking)."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


def documents_zip_stream(*, document_type: str, ids) -> Iterator[bytes]:
    """The PDFs of the chosen documents as one ZIP, produced document by document (memory stays flat)."""
    ids = _clean_ids(ids, limit=ZIP_MAX_DOCUMENTS)
    model = _model(document_type)
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for document in model.objects.filter(pk__in=ids).order_by("pk").iterator(chunk_size=50):
            if document.pdf:
                with document.pdf.open("rb") as f:
                    content = f.read()
            else:
                content = document_pdf_bytes(document)
            name = document.number or f"draft-{document.pk}"
            archive.writestr(f"{name}.pdf", content)
            yield sink.take()
    yield sink.take()
