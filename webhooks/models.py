"""Webhook endpoints (configured by an Admin), one delivery per endpoint and event, and every attempt."""

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# Only plain web URLs: no file://, ftp:// or other schemes a worker would otherwise open.
http_url = URLValidator(schemes=["http", "https"], message=_("Enter an http:// or https:// URL."))


class Endpoint(models.Model):
    url = models.CharField(_("URL"), max_length=500, validators=[http_url])
    description = models.CharField(_("description"), max_length=200, blank=True)
    # The event types sent to this endpoint; an empty list means every type.
    event_types = models.JSONField(_("event types"), default=list, blank=True)
    secret = models.CharField(_("signing secret"), max_length=80, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    # The outbox cursor: events up to this sequence have their delivery rows (or did not match).
    last_event_sequence = models.BigIntegerField(_("last event sequence"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class Delivery(models.Model):
    """One event for one endpoint, tried until it succeeds or three days have passed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(Endpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("billing_site.Event", verbose_name=_("event"), on_delete=models.PROTECT, related_name="+")
    # Deliveries of one endpoint with the same key go out in event order ("" for events of no account).
    ordering_key = models.CharField(_("ordering key"), max_length=32, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts_count = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), db_index=True)
    give_up_at = models.DateTimeField(_("give up at"))
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last response code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_unique_endpoint_event")]
        indexes = [models.Index(fields=["endpoint", "ordering_key", "status", "event"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event_id} → {self.endpoint_id}"

    @property
    def is_pending(self) -> bool:
        """Waiting for its next attempt; once delivered or failed, it can be sent again."""
        return self.status == self.Status.PENDING


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery and what the receiver answered."""

    delivery = models.ForeignKey(Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField(_("at"))
    status_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    response_excerpt = models.CharField(_("response"), max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
