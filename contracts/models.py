"""Orders, contracts, subscriptions and their billing schedules.

A contract's billing schedule holds every billable period of every subscription with its exact
amount before any invoice run (DESIGN §3). An amendment effective on day D never edits a billed
entry: it writes the difference from D to the contract's end — added units as charges, removed
units as credits of billed time (never more than is still uncredited) or as reduced pending
entries — and a new price as a new subscription (`contracts.scheduling`).
"""

from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import BillingRule, LegalEntity, PriceBook, Product, TaxRule
from customers.models import Account


class RenewalPricing(models.TextChoices):
    SAME = "same", _("Same price")
    LIST = "list", _("Current list price")
    UPLIFT = "uplift", _("Price × (1 + uplift %)")


class AmendmentType(models.TextChoices):
    ADD_QUANTITY = "add_quantity", _("Add quantity")
    REDUCE_QUANTITY = "reduce_quantity", _("Reduce quantity")
    ADD_PRODUCT = "add_product", _("Add a product")
    CHANGE_PRICE = "change_price", _("Change price")
    CANCEL_SUBSCRIPTION = "cancel_subscription", _("Cancel a subscription")
    CANCEL_CONTRACT = "cancel_contract", _("Cancel the contract")


class Order(models.Model):
    number_prefix = "ORD"  # billing_site.numbering

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVATED = "activated", _("Activated")
        CANCELLED = "cancelled", _("Cancelled")

    class Type(models.TextChoices):
        NEW = "new", _("New business")
        AMENDMENT = "amendment", _("Amendment")
        RENEWAL = "renewal", _("Renewal")

    number = models.CharField(_("number"), max_length=20, unique=True)
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="orders")
    quote = models.OneToOneField(
        "quotes.Quote", verbose_name=_("quote"), null=True, blank=True, on_delete=models.PROTECT, related_name="order"
    )
    type = models.CharField(_("type"), max_length=16, choices=Type.choices, default=Type.NEW)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    contract = models.ForeignKey(
        "Contract", verbose_name=_("contract"), null=True, blank=True, on_delete=models.PROTECT, related_name="orders",
        help_text=_("For amendments and renewals: the contract changed. For new business: set on activation."),
    )
    price_book = models.ForeignKey(PriceBook, verbose_name=_("price book"), on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(_("currency"), max_length=3)
    start_date = models.DateField(_("start date"))
    term_months = models.PositiveSmallIntegerField(_("term (months)"), default=12)
    effective_date = models.DateField(_("effective date"), null=True, blank=True, help_text=_("Amendments: the day the change starts."))
    amendment_type = models.CharField(_("amendment"), max_length=24, choices=AmendmentType.choices, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    evergreen = models.BooleanField(_("evergreen"), default=False)
    auto_renew = models.BooleanField(_("auto-renew"), default=False)
    renewal_term_months = models.PositiveSmallIntegerField(_("renewal term (months)"), null=True, blank=True)
    renewal_pricing = models.CharField(_("renewal pricing"), max_length=16, choices=RenewalPricing.choices, default=RenewalPricing.SAME)
    uplift_percent = models.DecimalField(_("uplift (%)"), max_digits=6, decimal_places=2, default=Decimal("0"))
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    activated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            # A contract is renewed once, whatever the job or a person does twice.
            models.UniqueConstraint(fields=["contract"], condition=Q(type="renewal"), name="order_one_renewal_per_contract"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderProduct(models.Model):
    """A product on an order, its prices copied exactly from the quote line (or set by finance).

    On amendment orders `quantity` is the change (negative for a reduction) and `subscription` names
    the subscription it changes (blank when a product is added)."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="products")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=6)
    list_unit_price = models.DecimalField(_("list unit price"), max_digits=18, decimal_places=6)
    net_unit_price = models.DecimalField(_("net unit price"), max_digits=18, decimal_places=6)
    price_term_months = models.PositiveSmallIntegerField(
        _("price term (months)"), default=12, help_text=_("The term the unit price is for (the product's default term).")
    )
    pricing_snapshot = models.JSONField(_("pricing"), default=dict, blank=True, help_text=_("The price book entry as quoted."))
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True, help_text=_("First day not served; blank = evergreen."))
    subscription = models.ForeignKey(
        "Subscription", verbose_name=_("subscription"), null=True, blank=True, on_delete=models.PROTECT, related_name="order_products"
    )
    total_amount = models.DecimalField(_("total"), max_digits=18, decimal_places=6, default=Decimal("0"))
    # Delivery (products that need delivery): due, then confirmed by a person (`order_product_deliver`).
    delivery_due_date = models.DateField(_("delivery due"), null=True, blank=True)
    delivered_date = models.DateField(_("delivered on"), null=True, blank=True)
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("delivery confirmed by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    delivered_at = models.DateTimeField(_("delivery confirmed at"), null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("order product")
        verbose_name_plural = _("order products")

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity.normalize()}"

    @property
    def delivered_late(self) -> bool | None:
        """True/False once delivered (after/on or before its due date); None while not delivered."""
        if self.delivered_date is None or self.delivery_due_date is None:
            return None
        return self.delivered_date > self.delivery_due_date


class Contract(models.Model):
    number_prefix = "CTR"  # billing_site.numbering

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")
        RENEWED = "renewed", _("Renewed")

    number = models.CharField(_("number"), max_length=20, unique=True)
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="contracts")
    order = models.OneToOneField(Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="created_contract")
    price_book = models.ForeignKey(PriceBook, verbose_name=_("price book"), on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True, help_text=_("First day not served; blank = evergreen."))
    term_months = models.PositiveSmallIntegerField(_("term (months)"))
    evergreen = models.BooleanField(_("evergreen"), default=False)
    auto_renew = models.BooleanField(_("auto-renew"), default=False)
    renewal_term_months = models.PositiveSmallIntegerField(_("renewal term (months)"), null=True, blank=True)
    renewal_pricing = models.CharField(_("renewal pricing"), max_length=16, choices=RenewalPricing.choices, default=RenewalPricing.SAME)
    uplift_percent = models.DecimalField(_("uplift (%)"), max_digits=6, decimal_places=2, default=Decimal("0"))
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    billing_day = models.PositiveSmallIntegerField(_("billing day"), default=1)
    cancelled_on = models.DateField(_("cancelled on"), null=True, blank=True)
    renewed_by = models.ForeignKey(
        "self", verbose_name=_("renewed by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="renews"
    )
    renewal_quote = models.OneToOneField(
        "quotes.Quote", verbose_name=_("renewal quote"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="renewal_of",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        indexes = [models.Index(fields=["status", "end_date"])]

    def __str__(self) -> str:
        return self.number

    @property
    def is_active(self) -> bool:
        """Running: it can be amended and renewed."""
        return self.status == self.Status.ACTIVE


class Subscription(models.Model):
    """One product on a contract: what it bills, how often, from when to when."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CANCELLED = "cancelled", _("Cancelled")
        ENDED = "ended", _("Ended")

    contract = models.ForeignKey(Contract, verbose_name=_("contract"), on_delete=models.PROTECT, related_name="subscriptions")
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="subscriptions")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="subscriptions")
    origin = models.ForeignKey(OrderProduct, verbose_name=_("ordered by"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    charge_type = models.CharField(_("charge type"), max_length=16, choices=Product.ChargeType.choices)
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=6)
    unit_price = models.DecimalField(_("net unit price"), max_digits=18, decimal_places=6)
    price_term_months = models.PositiveSmallIntegerField(_("price term (months)"), default=12)
    pricing_snapshot = models.JSONField(_("pricing"), default=dict, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    billing_frequency = models.PositiveSmallIntegerField(_("billing frequency (months)"), choices=Product.Frequency.choices)
    billing_type = models.CharField(_("billing type"), max_length=16, choices=Product.BillingType.choices)
    period_boundary = models.CharField(_("period boundary"), max_length=16, choices=BillingRule.Boundary.choices)
    day_count = models.CharField(_("day count"), max_length=16, choices=BillingRule.DayCount.choices)
    billing_day = models.PositiveSmallIntegerField(_("billing day"), default=1)
    billing_rule = models.ForeignKey(BillingRule, verbose_name=_("billing rule"), on_delete=models.PROTECT, related_name="+")
    legal_entity = models.ForeignKey(LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="+")
    tax_rule = models.ForeignKey(TaxRule, verbose_name=_("tax rule"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True, help_text=_("First day not served; blank = evergreen."))
    period_anchor = models.DateField(
        _("period anchor"), null=True, blank=True,
        help_text=_("The day the billing period grid is anchored on (the contract's start); blank = start date."),
    )
    scheduled_until = models.DateField(
        _("scheduled until"), null=True, blank=True,
        help_text=_("The schedule is written up to this day (evergreen, or a migrated contract scheduled months ahead); "
                    "blank on a termed subscription: to its end."),
    )

    class Meta:
        ordering = ["contract", "id"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            # What a schedule entry's one foreign key points at (see ScheduleEntry): the entry's
            # subscription, with the contract and account it copies.
            models.UniqueConstraint(fields=["id", "contract", "account"], name="subscription_contract_account"),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} × {self.quantity.normalize()}"

    @property
    def is_active(self) -> bool:
        """Still billing: it can be changed by an amendment."""
        return self.status == self.Status.ACTIVE

    @property
    def is_partly_scheduled(self) -> bool:
        """A termed subscription whose schedule stops before its end (a migrated contract: the daily
        job writes the rest, an amendment writes it all first)."""
        return self.end_date is not None and self.scheduled_until is not None and self.scheduled_until < self.end_date

    @property
    def period_price_fraction(self) -> Fraction:
        """The share of the unit price one full billing period is worth (months per period ÷ price term)."""
        return Fraction(self.billing_frequency or 0, self.price_term_months or 12)


class ScheduleEntry(models.Model):
    """One billable piece of a subscription (or a credit of billed time), with its exact amount.

    `amount` is signed (credits are negative) and rounded once. Usage entries get their amount when
    the invoice run rates the period's usage. Invoicing bills pending entries whose `bill_on` is on
    or before the run's target date and marks them billed; the database makes that happen once."""

    class Kind(models.TextChoices):
        CHARGE = "charge", _("Charge")
        CREDIT = "credit", _("Credit")
        ONE_TIME = "one_time", _("One-time")
        USAGE = "usage", _("Usage")

    class Status(models.TextChoices):
        PENDING = "pending", _("To bill")
        BILLED = "billed", _("Billed")
        CANCELLED = "cancelled", _("Cancelled")

    # The contract and account are the subscription's, copied so the invoice run can pick due entries
    # by account. On PostgreSQL one composite foreign key, (subscription, contract, account) →
    # subscription (id, contract, account), checks all three (migration 0006): the subscription
    # exists and the copies agree with it. It replaces three single-column keys, so each new row costs
    # one check instead of three (a 50,000-contract import writes 10 million rows).
    subscription = models.ForeignKey(
        Subscription, verbose_name=_("subscription"), on_delete=models.PROTECT, related_name="schedule", db_constraint=False
    )
    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.PROTECT, related_name="schedule", db_constraint=False,
        db_index=False,  # the (contract, period_start) index serves it
    )
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="schedule", db_constraint=False
    )
    source_order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="schedule")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    period_start = models.DateField(_("service from"))
    period_end = models.DateField(_("service to (excluded)"))
    full_start = models.DateField(_("full period from"))
    full_end = models.DateField(_("full period to (excluded)"))
    bill_on = models.DateField(_("bill on"))  # searched with the status: schedule_due_idx
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=6)
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=6)
    price_term_months = models.PositiveSmallIntegerField(_("price term (months)"), default=12)
    period_months = models.PositiveSmallIntegerField(_("months per period"), default=1)
    factor_numerator = models.PositiveIntegerField(_("factor numerator"), default=1)
    factor_denominator = models.PositiveIntegerField(_("factor denominator"), default=1)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=6, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    credits = models.ForeignKey(
        "self", verbose_name=_("credits"), null=True, blank=True, on_delete=models.PROTECT, related_name="credited_by",
        help_text=_("Credit entries: the billed charge whose time after the effective date they credit."),
        db_index=False,  # a partial index: most entries credit nothing
    )
    cancelled_by = models.ForeignKey(
        Order, verbose_name=_("cancelled by"), null=True, blank=True, on_delete=models.PROTECT, related_name="cancelled_entries",
        db_index=False,  # a partial index: most entries are never cancelled
    )
    is_delta = models.BooleanField(
        _("amendment delta"), default=False,
        help_text=_("Units an amendment added (charge) or removed (credit) on top of the original lines; set by the amendment, never edited."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    billed_at = models.DateTimeField(_("billed at"), null=True, blank=True)

    class Meta:
        ordering = ["subscription", "period_start", "id"]
        verbose_name = _("schedule entry")
        verbose_name_plural = _("schedule entries")
        indexes = [
            models.Index(fields=["status", "bill_on", "account"], name="schedule_due_idx"),
            models.Index(fields=["contract", "period_start"]),
            models.Index(fields=["credits"], condition=Q(credits__isnull=False), name="schedule_credits_idx"),
            models.Index(fields=["cancelled_by"], condition=Q(cancelled_by__isnull=False), name="schedule_cancelled_by_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="schedule_period_ordered"),
            models.CheckConstraint(
                condition=Q(kind="credit", credits__isnull=False) | ~Q(kind="credit"), name="schedule_credit_names_its_charge"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.kind} [{self.period_start}, {self.period_end}) {self.amount}"

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    @property
    def factor(self) -> Fraction:
        return Fraction(self.factor_numerator, self.factor_denominator)

    @property
    def quantity_display(self) -> str:
        """The quantity as schedules and previews show it: '+3' or '−3' for an amendment's delta."""
        text = format(self.quantity.normalize(), "f")
        if not self.is_delta:
            return text
        return f"−{text}" if self.kind == self.Kind.CREDIT else f"+{text}"

    @property
    def factor_display(self) -> str:
        value = Decimal(self.factor_numerator) / Decimal(self.factor_denominator)
        return f"{self.factor_numerator}/{self.factor_denominator} = {value.quantize(Decimal('0.000001'))}"
