"""Stored payment methods (gateway tokens only), the sandbox gateway's idempotency log, and
payment runs with their attempts.

Exactly once (DESIGN §3) for captured payments is held by the database:
- `PaymentAttempt` has UNIQUE (invoice, attempt_no): two runs that race to try the same invoice
  compute the same next attempt number and only one INSERT wins (the claim);
- a partial UNIQUE on (invoice) WHERE status IN (pending, succeeded): an invoice has at most one
  charge in flight or done, so it is never charged twice whatever the code does;
- the attempt's idempotency key (`inv-<invoice>-attempt-<n>`) is sent to the gateway, so a retried
  task that re-sends a pending attempt gets the first result back instead of a second charge.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Account
from invoicing.models import Invoice

MONEY = {"max_digits": 18, "decimal_places": 6}


class PaymentMethod(models.Model):
    """A card or mandate stored at the gateway: we keep its token and display details only."""

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="payment_methods")
    gateway = models.CharField(_("gateway"), max_length=20, default="sandbox")
    token = models.CharField(_("gateway token"), max_length=100)
    brand = models.CharField(_("brand"), max_length=20, blank=True)
    last4 = models.CharField(_("last 4 digits"), max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(_("expiry month"), null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(_("expiry year"), null=True, blank=True)
    is_autopay = models.BooleanField(_("autopay"), default=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["account", "-is_autopay", "id"]
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        constraints = [
            models.UniqueConstraint(fields=["account"], condition=Q(is_autopay=True), name="paymentmethod_one_autopay_per_account"),
            models.CheckConstraint(condition=Q(is_autopay=False) | Q(active=True), name="paymentmethod_autopay_is_active"),
        ]

    def __str__(self) -> str:
        label = f"{self.brand or _('Card')} •••• {self.last4}" if self.last4 else self.token
        return str(label)


class GatewayOperation(models.Model):
    """The sandbox gateway's record of every call, by idempotency key: the same key gives the same
    result, also after a restart (a real gateway keeps the same log on its side)."""

    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    operation = models.CharField(_("operation"), max_length=12)
    request = models.JSONField(_("request"), default=dict)
    result = models.JSONField(_("result"), default=dict)
    transaction_id = models.CharField(_("transaction"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("gateway operation")
        verbose_name_plural = _("gateway operations")

    def __str__(self) -> str:
        return f"{self.operation} {self.idempotency_key}"


class PaymentRun(models.Model):
    """Charge the due posted invoices of autopay accounts on `run_date`, and retry transient declines."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        MANUAL = "manual", _("Started by hand")

    run_date = models.DateField(_("run date"))
    trigger = models.CharField(_("started by"), max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    attempts_count = models.PositiveIntegerField(_("attempts"), default=0)
    succeeded_count = models.PositiveIntegerField(_("succeeded"), default=0)
    declined_count = models.PositiveIntegerField(_("declined"), default=0)
    collected = models.JSONField(_("collected per currency"), default=dict, blank=True)
    message = models.TextField(_("message"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("payment run")
        verbose_name_plural = _("payment runs")
        constraints = [
            # Beat's run of a day is one row: a retried task finds it and carries on.
            models.UniqueConstraint(fields=["run_date"], condition=Q(trigger="scheduled"), name="paymentrun_one_scheduled_per_day"),
        ]

    def __str__(self) -> str:
        return _("Payment run %(id)s of %(date)s") % {"id": self.pk, "date": self.run_date}


class PaymentAttempt(models.Model):
    """One try to charge one invoice's open balance on the account's autopay method."""

    class Status(models.TextChoices):
        PENDING = "pending", _("In progress")
        SUCCEEDED = "succeeded", _("Succeeded")
        DECLINED_TRANSIENT = "declined_transient", _("Declined (will retry)")
        DECLINED_FINAL = "declined_final", _("Declined")

    run = models.ForeignKey(PaymentRun, verbose_name=_("run"), null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts")
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="payment_attempts")
    payment_method = models.ForeignKey(PaymentMethod, verbose_name=_("payment method"), on_delete=models.PROTECT, related_name="attempts")
    attempt_no = models.PositiveSmallIntegerField(_("attempt"))
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    decline_code = models.CharField(_("decline code"), max_length=40, blank=True)
    message = models.CharField(_("message"), max_length=200, blank=True)
    gateway_transaction_id = models.CharField(_("gateway transaction"), max_length=64, blank=True)
    attempted_on = models.DateField(_("attempted on"))
    next_retry_on = models.DateField(_("next retry"), null=True, blank=True)
    payment = models.OneToOneField(
        "payments.Payment", verbose_name=_("payment"), null=True, blank=True, on_delete=models.PROTECT, related_name="attempt"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("payment attempt")
        verbose_name_plural = _("payment attempts")
        indexes = [models.Index(fields=["status", "next_retry_on"])]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "attempt_no"], name="paymentattempt_claim_per_attempt"),
            models.UniqueConstraint(fields=["invoice"], condition=Q(status="succeeded"), name="paymentattempt_one_success_per_invoice"),
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(status__in=["pending", "succeeded"]), name="paymentattempt_one_open_per_invoice"
            ),
            models.CheckConstraint(condition=Q(amount__gt=Decimal("0")), name="paymentattempt_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.idempotency_key
