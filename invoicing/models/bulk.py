"""Bulk work on documents (post drafts, send by email) and the log of what was sent.

A bulk job carries its own progress (`position` over `object_ids`, with counts) and is processed on
the workers in small transactions, so a page can poll it and a redelivered task resumes where the
last commit stopped.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Account
from invoicing.models.documents import CreditNote, DocumentType, Invoice

# A job names at most this many documents: a bigger set is split by the caller (a run, a filter).
BULK_MAX_DOCUMENTS = 10_000


class BulkJob(models.Model):
    class Kind(models.TextChoices):
        POST = "post", _("Post drafts")
        SEND = "send", _("Send by email")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    document_type = models.CharField(_("document type"), max_length=16, choices=DocumentType.choices, default=DocumentType.INVOICE)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    object_ids = models.JSONField(_("documents"), default=list)
    resend = models.BooleanField(_("send again"), default=False, help_text=_("Send documents already sent once more."))
    run = models.ForeignKey("invoicing.InvoiceRun", verbose_name=_("run"), null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="bulk_jobs")
    position = models.PositiveIntegerField(_("processed"), default=0)
    succeeded = models.PositiveIntegerField(_("succeeded"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("bulk job")
        verbose_name_plural = _("bulk jobs")
        constraints = [
            models.CheckConstraint(condition=Q(position__gte=0), name="bulkjob_position_not_negative"),
        ]

    def __str__(self) -> str:
        return _("Bulk job %(id)s") % {"id": self.pk}

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def total(self) -> int:
        return len(self.object_ids)

    @property
    def percent(self) -> int:
        return 100 if not self.object_ids or self.status == self.Status.DONE else int(self.position * 100 / len(self.object_ids))


class DocumentSend(models.Model):
    """One email of a posted invoice or credit note, or of an account statement (up to `statement_end`):
    to whom, when, by whom (and from which bulk job)."""

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), null=True, blank=True, on_delete=models.PROTECT,
                                related_name="sends")
    credit_note = models.ForeignKey(CreditNote, verbose_name=_("credit note"), null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="sends")
    statement_end = models.DateField(_("statement up to"), null=True, blank=True)
    recipients = models.TextField(_("recipients"))
    resend = models.BooleanField(_("sent again"), default=False)
    job = models.ForeignKey(BulkJob, verbose_name=_("bulk job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sent_at = models.DateTimeField(_("sent at"))
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("document sent")
        verbose_name_plural = _("documents sent")
        constraints = [
            models.CheckConstraint(
                condition=Q(invoice__isnull=False, credit_note__isnull=True, statement_end__isnull=True)
                | Q(invoice__isnull=True, credit_note__isnull=False, statement_end__isnull=True)
                | Q(invoice__isnull=True, credit_note__isnull=True, statement_end__isnull=False),
                name="documentsend_one_document",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice or self.credit_note or self.statement_end} → {self.recipients}"
