"""Bank statement imports and their lines. A file is identified by the SHA-256 of its bytes
(UNIQUE), so importing the same file twice creates nothing new."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Account
from invoicing.models import Invoice

MONEY = {"max_digits": 18, "decimal_places": 6}


class StatementImport(models.Model):
    class Format(models.TextChoices):
        CSV = "csv", _("CSV")
        CAMT053 = "camt053", _("CAMT.053 XML")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        MATCHING = "matching", _("Matching")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    file_name = models.CharField(_("file"), max_length=200)
    file_hash = models.CharField(_("SHA-256"), max_length=64, unique=True)
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    lines_count = models.PositiveIntegerField(_("lines"), default=0)
    matched_count = models.PositiveIntegerField(_("matched"), default=0)
    # Matching runs on a worker, a batch of lines per transaction; these say how far it got.
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DONE)
    processed_count = models.PositiveIntegerField(_("lines matched so far"), default=0)
    error = models.CharField(_("error"), max_length=300, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("bank statement import")
        verbose_name_plural = _("bank statement imports")

    def __str__(self) -> str:
        return self.file_name

    @property
    def percent(self) -> int:
        """How much of the file is matched, 0–100."""
        return 100 if not self.lines_count else min(100, self.processed_count * 100 // self.lines_count)


class StatementLine(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        MATCHED = "matched", _("Matched")
        UNMATCHED = "unmatched", _("Unmatched")
        AMBIGUOUS = "ambiguous", _("Ambiguous")
        IGNORED = "ignored", _("Ignored")

    REVIEW = (Status.UNMATCHED, Status.AMBIGUOUS)

    statement = models.ForeignKey(StatementImport, verbose_name=_("statement"), on_delete=models.PROTECT, related_name="lines")
    line_no = models.PositiveIntegerField(_("line"))
    booking_date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    reference = models.CharField(_("reference"), max_length=300, blank=True)
    counterparty = models.CharField(_("counterparty"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UNMATCHED)
    note = models.CharField(_("note"), max_length=300, blank=True)
    candidate_invoices = models.ManyToManyField(Invoice, verbose_name=_("candidates"), blank=True, related_name="+")
    account = models.ForeignKey(Account, verbose_name=_("account"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.OneToOneField(
        "payments.Payment", verbose_name=_("payment"), null=True, blank=True, on_delete=models.PROTECT, related_name="statement_line"
    )
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        ordering = ["statement", "line_no"]
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        indexes = [models.Index(fields=["status"])]
        constraints = [
            models.UniqueConstraint(fields=["statement", "line_no"], name="statementline_unique_line"),
            models.CheckConstraint(condition=~Q(status="matched") | Q(payment__isnull=False), name="statementline_matched_has_payment"),
        ]

    def __str__(self) -> str:
        return f"{self.statement} #{self.line_no}"
