"""Payments, allocations and refunds.

Balances (DESIGN §3): invoice balance = total − payments allocated − credits allocated. Payments
owns them because it is the later stage. `Allocation` rows are signed and never deleted: an
unallocation is a new negative row. A payment keeps three running figures, written by the services
in the same transaction as the rows they sum and held by CHECK constraints, so the database itself
refuses a payment allocated or refunded beyond its amount:

    unapplied_amount = amount − allocated_amount − refunded_amount ≥ 0

Invoice and credit note balances are sums of rows (see `payments.selectors.balances`); services
lock the documents and re-check them inside the lock.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from customers.models import Account
from invoicing.models import CreditNote, Invoice, InvoiceLine

MONEY = {"max_digits": 18, "decimal_places": 6}


class PaymentMethodKind(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CHECK = "check", _("Check")
    CARD = "card", _("Card")
    CASH = "cash", _("Cash")
    DIRECT_DEBIT = "direct_debit", _("Direct debit")


class Payment(models.Model):
    """Money received from an account, in one currency."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Recorded by hand")
        GATEWAY = "gateway", _("Payment gateway")
        BANK = "bank", _("Bank statement")
        API = "api", _("API")

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="payments")
    currency = models.CharField(_("currency"), max_length=3)
    amount = models.DecimalField(_("amount"), **MONEY)
    received_date = models.DateField(_("received on"))
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethodKind.choices)
    reference = models.CharField(_("reference"), max_length=140, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    notes = models.TextField(_("notes"), blank=True)
    gateway_transaction_id = models.CharField(_("gateway transaction"), max_length=64, blank=True)
    allocated_amount = models.DecimalField(_("allocated"), **MONEY, default=Decimal("0"))
    refunded_amount = models.DecimalField(_("refunded"), **MONEY, default=Decimal("0"))
    unapplied_amount = models.DecimalField(_("unapplied"), **MONEY, default=Decimal("0"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-received_date", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [
            models.Index(fields=["account", "currency"]),
            models.Index(fields=["received_date"]),
            # Unapplied money of an account (credit panel, allocation screens): a few rows among thousands.
            models.Index(fields=["account", "currency"], condition=Q(unapplied_amount__gt=0), name="payment_unapplied_by_account"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(allocated_amount__gte=0), name="payment_allocated_not_negative"),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0), name="payment_refunded_not_negative"),
            models.CheckConstraint(condition=Q(unapplied_amount__gte=0), name="payment_unapplied_not_negative"),
            models.CheckConstraint(
                condition=Q(unapplied_amount=F("amount") - F("allocated_amount") - F("refunded_amount")),
                name="payment_unapplied_is_the_rest",
            ),
        ]

    def __str__(self) -> str:
        return _("Payment %(id)s") % {"id": self.pk}


class Allocation(models.Model):
    """A signed amount of a payment or a posted credit note applied to a posted invoice (or one of
    its lines). Positive applies, negative (an unallocation) takes back; rows are never deleted."""

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(_("currency"), max_length=3)
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="payment_allocations")
    invoice_line = models.ForeignKey(
        InvoiceLine, verbose_name=_("invoice line"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), null=True, blank=True, on_delete=models.PROTECT, related_name="allocations"
    )
    credit_note = models.ForeignKey(
        CreditNote, verbose_name=_("credit note"), null=True, blank=True, on_delete=models.PROTECT, related_name="payment_allocations"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    allocated_date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(_("by"), max_length=150, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        indexes = [models.Index(fields=["invoice", "payment"]), models.Index(fields=["allocated_date"])]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="allocation_amount_not_zero"),
            models.CheckConstraint(
                condition=Q(payment__isnull=False, credit_note__isnull=True) | Q(payment__isnull=True, credit_note__isnull=False),
                name="allocation_one_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment or self.credit_note} → {self.invoice}: {self.amount}"

    @property
    def source(self):
        return self.payment or self.credit_note


class Refund(models.Model):
    """Money given back: from a payment's unapplied amount or from a credit note's open balance."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", _("Refunded")

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="refunds")
    currency = models.CharField(_("currency"), max_length=3)
    payment = models.ForeignKey(Payment, verbose_name=_("payment"), null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    credit_note = models.ForeignKey(
        CreditNote, verbose_name=_("credit note"), null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    refund_date = models.DateField(_("refunded on"))
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethodKind.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SUCCEEDED)
    gateway_transaction_id = models.CharField(_("gateway transaction"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(payment__isnull=False, credit_note__isnull=True) | Q(payment__isnull=True, credit_note__isnull=False),
                name="refund_one_source",
            ),
        ]

    def __str__(self) -> str:
        return _("Refund %(id)s") % {"id": self.pk}
