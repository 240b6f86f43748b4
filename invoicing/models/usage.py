"""Usage records: quantities reported by integrations, rated in arrears on the period's total."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from contracts.models import ScheduleEntry, Subscription
from customers.models import Account


class UsageRecord(models.Model):
    """One reported quantity. The idempotency key is unique per subscription (database constraint),
    so a feed that sends a record twice is counted once."""

    # No index of its own: the unique key and the (subscription, business_date) index both start with it.
    subscription = models.ForeignKey(
        Subscription, verbose_name=_("subscription"), on_delete=models.PROTECT, related_name="usage_records", db_index=False
    )
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="usage_records")
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=6)
    occurred_at = models.DateTimeField(_("occurred at"))
    business_date = models.DateField(_("business date"), db_index=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    rated_entry = models.ForeignKey(
        ScheduleEntry, verbose_name=_("rated in"), null=True, blank=True, on_delete=models.PROTECT, related_name="usage_records",
        db_index=False,
    )
    source = models.CharField(_("source"), max_length=16, default="api")
    ingest_batch = models.CharField(_("import batch"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        # Every index is written for each record a feed sends (10,000 a call): only those a query uses.
        # A record is rated long after it arrives, so the rated-entry index leaves the unrated out;
        # the batch is looked up by equality only (no LIKE index).
        indexes = [
            models.Index(fields=["subscription", "business_date"]),
            models.Index(fields=["rated_entry"], name="usage_rated_entry_idx", condition=models.Q(rated_entry__isnull=False)),
            models.Index(fields=["ingest_batch"], name="usage_ingest_batch_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "idempotency_key"], name="usage_unique_key_per_subscription"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.business_date} × {self.quantity.normalize()}"
