"""The dunning ladder and what it sent. One event per (invoice, step), by a UNIQUE constraint, so a
re-run or two runs at once never send the same reminder twice."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from invoicing.models import Invoice


class DunningStep(models.Model):
    """A rung of the ladder: `offset_days` after the due date (negative: before it)."""

    class Action(models.TextChoices):
        EMAIL = "email", _("Send email")
        EMAIL_HOLD = "email_credit_hold", _("Send email and put the account on credit hold")

    class Template(models.TextChoices):
        REMINDER = "reminder", _("Friendly reminder (before due)")
        OVERDUE = "overdue", _("Overdue notice")
        SECOND = "second_notice", _("Second notice")
        FINAL = "final_notice", _("Final notice (credit hold)")

    name = models.CharField(_("name"), max_length=100)
    offset_days = models.SmallIntegerField(_("days after due date"), help_text=_("Negative: days before the due date."))
    action = models.CharField(_("action"), max_length=20, choices=Action.choices, default=Action.EMAIL)
    template = models.CharField(_("email template"), max_length=20, choices=Template.choices, default=Template.OVERDUE)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["offset_days", "id"]
        verbose_name = _("dunning step")
        verbose_name_plural = _("dunning steps")
        constraints = [models.UniqueConstraint(fields=["offset_days"], name="dunningstep_unique_offset")]

    def __str__(self) -> str:
        return self.name


class DunningEvent(models.Model):
    """A step applied to an invoice: the email sent (or skipped when a later step was due too)."""

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Skipped (a later step was due)")
        NO_EMAIL = "no_email", _("No billing email")

    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="dunning_events")
    step = models.ForeignKey(DunningStep, verbose_name=_("step"), on_delete=models.PROTECT, related_name="events")
    account = models.ForeignKey("customers.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    run_date = models.DateField(_("date"))
    email_to = models.CharField(_("sent to"), max_length=500, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    balance_amount = models.DecimalField(_("balance"), max_digits=18, decimal_places=6)
    credit_hold = models.BooleanField(_("credit hold applied"), default=False)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("dunning event")
        verbose_name_plural = _("dunning events")
        constraints = [models.UniqueConstraint(fields=["invoice", "step"], name="dunningevent_once_per_invoice_step")]

    def __str__(self) -> str:
        return f"{self.invoice} · {self.step}"
