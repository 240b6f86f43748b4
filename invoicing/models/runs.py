"""Invoice runs, their chunks and per-account errors, and the schedules that start runs."""


from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Account


class InvoiceRun(models.Model):
    """One run: bill every due schedule entry up to `target_date` for the accounts its filters select.

    The run is split into chunks of accounts that any worker can take; progress and counts are the
    sums of its chunks' counters, each written in the same transaction as the invoices it counts.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        COMPLETED_WITH_ERRORS = "completed_with_errors", _("Completed with errors")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    FINISHED = (Status.COMPLETED, Status.COMPLETED_WITH_ERRORS, Status.FAILED, Status.CANCELLED)

    target_date = models.DateField(_("target date"), help_text=_("Bill every period due on or before this day."))
    invoice_date = models.DateField(_("invoice date"))
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    auto_post = models.BooleanField(_("post automatically"), default=False)
    send_documents = models.BooleanField(
        _("render and send PDFs"), default=True, help_text=_("After posting: render each PDF and email it to the billing contacts."),
    )
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.QUEUED)
    schedule = models.ForeignKey(
        "invoicing.InvoiceSchedule", verbose_name=_("schedule"), null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    chunk_size = models.PositiveIntegerField(_("accounts per chunk"), default=500)
    accounts_total = models.PositiveIntegerField(_("accounts"), default=0)
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    # Stored when the run finishes (sums of the chunks); live values come from the chunks.
    accounts_done = models.PositiveIntegerField(_("accounts done"), default=0)
    accounts_failed = models.PositiveIntegerField(_("accounts failed"), default=0)
    # Accounts another run (or a cancel & rebill) was billing at the same moment: not billed by this run.
    accounts_skipped = models.PositiveIntegerField(_("accounts skipped"), default=0)
    invoices_count = models.PositiveIntegerField(_("invoices"), default=0)
    credit_notes_count = models.PositiveIntegerField(_("credit notes"), default=0)
    lines_count = models.PositiveIntegerField(_("lines"), default=0)
    totals = models.JSONField(_("totals per currency"), default=dict, blank=True)
    message = models.TextField(_("message"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("invoice run")
        verbose_name_plural = _("invoice runs")
        indexes = [models.Index(fields=["status", "target_date"])]

    def __str__(self) -> str:
        return _("Run %(id)s (%(date)s)") % {"id": self.pk, "date": self.target_date}

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def can_resume(self) -> bool:
        """A running run (after a worker stopped) or a failed one: `invoice_run_resume` takes both."""
        return self.status in (self.Status.RUNNING, self.Status.FAILED)


class InvoiceRunChunk(models.Model):
    """A slice of a run's accounts. `position` is how many of its accounts are done: a retried
    chunk resumes there (and re-checking what is due makes even a full re-run bill nothing twice)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    run = models.ForeignKey(InvoiceRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField(_("index"))
    account_ids = models.JSONField(_("accounts"), default=list)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    position = models.PositiveIntegerField(_("accounts done"), default=0)
    accounts_failed = models.PositiveIntegerField(_("accounts failed"), default=0)
    accounts_skipped = models.PositiveIntegerField(_("accounts skipped"), default=0)
    invoices_count = models.PositiveIntegerField(_("invoices"), default=0)
    credit_notes_count = models.PositiveIntegerField(_("credit notes"), default=0)
    lines_count = models.PositiveIntegerField(_("lines"), default=0)
    totals = models.JSONField(_("totals per currency"), default=dict, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # Written by the worker at its claim and after every committed group: a running chunk whose
    # heartbeat is older than INVOICE_RUN_STALE_SECONDS lost its worker, and beat sends it again.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["run", "index"]
        verbose_name = _("run chunk")
        verbose_name_plural = _("run chunks")
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="runchunk_unique_index")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.index}"


class InvoiceRunError(models.Model):
    """Why one account of a run was not billed."""

    run = models.ForeignKey(InvoiceRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="errors")
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="+")
    message = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["run", "account_id", "id"]
        verbose_name = _("run error")
        verbose_name_plural = _("run errors")

    def __str__(self) -> str:
        return f"{self.account_id}: {self.message}"


class InvoiceSchedule(models.Model):
    """Starts runs: once, daily, weekly or monthly; the beat job dispatches the due ones."""

    class Frequency(models.TextChoices):
        ONCE = "once", _("Once")
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    name = models.CharField(_("name"), max_length=100, unique=True)
    frequency = models.CharField(_("frequency"), max_length=16, choices=Frequency.choices, default=Frequency.DAILY)
    run_date = models.DateField(_("run on"), null=True, blank=True, help_text=_("For “once”: the day to run."))
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices, null=True, blank=True)
    day_of_month = models.PositiveSmallIntegerField(
        _("day of month"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text=_("1–31; clamped to the last day in shorter months."),
    )
    target_offset_days = models.SmallIntegerField(
        _("target date offset (days)"), default=0,
        help_text=_("The run bills what is due up to the run day plus this many days (e.g. 7 to bill a week ahead)."),
    )
    invoice_offset_days = models.SmallIntegerField(
        _("invoice date offset (days)"), default=0, help_text=_("Invoice date = run day plus this many days."),
    )
    auto_post = models.BooleanField(_("post automatically"), default=True)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    active = models.BooleanField(_("active"), default=True)
    next_run_date = models.DateField(_("next run"), null=True, blank=True)
    last_run_date = models.DateField(_("last run"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("invoice schedule")
        verbose_name_plural = _("invoice schedules")
        constraints = [
            models.CheckConstraint(condition=Q(weekday__isnull=True) | Q(weekday__lte=6), name="invoiceschedule_weekday_0_6"),
        ]

    def __str__(self) -> str:
        return self.name


