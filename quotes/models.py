"""Quotes and their lines. Prices come from the pricing engine; totals are stored by the service."""

from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import LegalEntity, PriceBook, Product
from customers.models import Account


class Quote(models.Model):
    number_prefix = "Q"  # billing_site.numbering

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        APPROVED = "approved", _("Approved")
        PRESENTED = "presented", _("Presented")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")

    number = models.CharField(_("number"), max_length=20)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    cloned_from = models.ForeignKey(
        "self", verbose_name=_("cloned from"), null=True, blank=True, on_delete=models.SET_NULL, related_name="clones"
    )
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="quotes")
    price_book = models.ForeignKey(PriceBook, verbose_name=_("price book"), on_delete=models.PROTECT, related_name="quotes")
    legal_entity = models.ForeignKey(
        LegalEntity, verbose_name=_("legal entity"), null=True, blank=True, on_delete=models.PROTECT, related_name="quotes"
    )
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    start_date = models.DateField(_("start date"))
    term_months = models.PositiveSmallIntegerField(_("term (months)"), default=12)
    expiration_date = models.DateField(_("expiration date"))
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    quote_discount_percent = models.DecimalField(_("quote discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0"))
    notes = models.TextField(_("notes"), blank=True)
    # Totals, stored by the service whenever a line changes (sums of rounded lines).
    one_time_total = models.DecimalField(_("one-time total"), max_digits=18, decimal_places=6, default=Decimal("0"))
    mrr = models.DecimalField(_("recurring per month (MRR)"), max_digits=18, decimal_places=6, default=Decimal("0"))
    arr = models.DecimalField(_("recurring per year (ARR)"), max_digits=18, decimal_places=6, default=Decimal("0"))
    total_contract_value = models.DecimalField(_("total contract value"), max_digits=18, decimal_places=6, default=Decimal("0"))
    tax_estimate = models.DecimalField(_("estimated tax"), max_digits=18, decimal_places=6, default=Decimal("0"))
    # Approval
    approval_required = models.BooleanField(_("approval required"), default=False)
    approval_reasons = models.JSONField(_("approval reasons"), default=list, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approval_comment = models.TextField(_("approval comment"), blank=True)
    pdf = models.FileField(_("PDF"), upload_to="quotes/", blank=True)
    pdf_rendered_at = models.DateTimeField(_("PDF rendered at"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # Set by quote_submit only; whoever submitted (or created) a quote may not approve it.
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("submitted by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    presented_at = models.DateTimeField(_("presented at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("customer decision at"), null=True, blank=True)
    decision_comment = models.TextField(_("customer decision note"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        constraints = [models.UniqueConstraint(fields=["number", "version"], name="quote_unique_number_version")]
        indexes = [models.Index(fields=["status", "expiration_date"], name="quote_status_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.number} v{self.version}"

    @property
    def end_date(self):
        """The first day after the quoted term (service periods are half-open)."""
        from catalog.pricing import add_months

        return add_months(anchor=self.start_date, months=self.term_months)

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_open(self) -> bool:
        """Not yet answered: it counts towards the account's credit picture."""
        return self.status in OPEN_STATUSES

    @property
    def awaits_approval(self) -> bool:
        return self.status == self.Status.IN_REVIEW

    @property
    def is_accepted(self) -> bool:
        return self.status == self.Status.ACCEPTED

    @property
    def grand_total(self) -> Decimal:
        """Total contract value with the estimated tax."""
        return self.total_contract_value + self.tax_estimate


OPEN_STATUSES = (
    Quote.Status.DRAFT, Quote.Status.IN_REVIEW, Quote.Status.APPROVED, Quote.Status.PRESENTED,
)


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=6)
    list_unit_price = models.DecimalField(_("list unit price"), max_digits=18, decimal_places=6)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=9, decimal_places=6, null=True, blank=True)
    discount_amount = models.DecimalField(_("discount per unit"), max_digits=18, decimal_places=6, null=True, blank=True)
    net_unit_price = models.DecimalField(_("net unit price"), max_digits=18, decimal_places=6)
    price_term_months = models.PositiveSmallIntegerField(_("price term (months)"), default=12)
    pricing_snapshot = models.JSONField(_("pricing"), default=dict, blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date (excluded)"))
    prorate_numerator = models.PositiveIntegerField(_("multiplier numerator"), default=1)
    prorate_denominator = models.PositiveIntegerField(_("multiplier denominator"), default=1)
    line_total = models.DecimalField(_("line total"), max_digits=18, decimal_places=6, default=Decimal("0"))
    effective_discount_percent = models.DecimalField(
        _("effective discount (%)"), max_digits=9, decimal_places=6, default=Decimal("0"),
        help_text=_("Line and quote discounts together, against the list price."),
    )
    tax_rate_percent = models.DecimalField(_("tax rate (%)"), max_digits=7, decimal_places=4, default=Decimal("0"))
    tax_label = models.CharField(_("tax"), max_length=50, blank=True)
    tax_amount = models.DecimalField(_("estimated tax"), max_digits=18, decimal_places=6, default=Decimal("0"))

    class Meta:
        ordering = ["quote", "position", "id"]
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quoteline_quantity_positive"),
            models.CheckConstraint(condition=Q(end_date__gt=models.F("start_date")), name="quoteline_dates_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity.normalize()}"

    @property
    def multiplier(self) -> Fraction:
        return Fraction(self.prorate_numerator, self.prorate_denominator)

    @property
    def charge_type(self) -> str:
        return self.pricing_snapshot.get("charge_type") or self.product.charge_type
