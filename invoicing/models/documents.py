"""Invoices, credit notes and their number series.

Exactly once (DESIGN §3) is held by the database: `InvoiceLine.billing_key` is the id of the
schedule entry the line bills while its invoice is live, under a UNIQUE constraint, so one entry
can never sit on two live invoices whatever the code does. Cancel & rebill sets the old line's key
to NULL (the entry goes back to "to bill"). Credit entries of amendments use
`CreditNoteLine.credit_key` the same way.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import LegalEntity
from contracts.models import Contract, ScheduleEntry, Subscription
from customers.models import Account

MONEY = {"max_digits": 18, "decimal_places": 6}


class DocumentType(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class LineSource(models.TextChoices):
    SUBSCRIPTION = "subscription", _("Subscription")
    USAGE = "usage", _("Usage")
    ONE_TIME = "one_time", _("One-time")
    AMENDMENT_CREDIT = "amendment_credit", _("Amendment credit")
    MANUAL = "manual", _("Manual credit")
    OPENING = "opening", _("Opening balance")


class NumberSeries(models.Model):
    """The gapless counter of one legal entity's invoices or credit notes.

    Posting locks this row (`select_for_update`) and takes `next_number` in the posting transaction,
    so a number is used exactly when the document is posted and a rolled-back posting gives its
    number back. Never `Max() + 1`: two posters would read the same maximum.
    """

    legal_entity = models.ForeignKey(LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="+")
    document_type = models.CharField(_("document type"), max_length=16, choices=DocumentType.choices)
    prefix = models.CharField(_("prefix"), max_length=20)
    next_number = models.PositiveBigIntegerField(_("next number"), default=1)
    padding = models.PositiveSmallIntegerField(_("digits"), default=6)

    class Meta:
        ordering = ["legal_entity", "document_type"]
        verbose_name = _("number series")
        verbose_name_plural = _("number series")
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "document_type"], name="numberseries_unique_entity_type"),
            models.CheckConstraint(condition=Q(next_number__gte=1), name="numberseries_next_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix} ({self.get_document_type_display()})"

    def format(self, sequence: int) -> str:
        return f"{self.prefix}{sequence:0{self.padding}d}"


class PaymentStatus(models.TextChoices):
    """How much of an invoice is settled (payments and credits alike). "Overdue" is not stored: it is
    an unpaid or partially paid invoice past its due date, which depends on today."""

    UNPAID = "unpaid", _("Unpaid")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")


class PostedState:
    """What pages may offer an invoice or a credit note, read from the status here and nowhere else;
    the services check again under the row lock (their transition table is the rule)."""

    status: str
    Status: type[models.TextChoices]

    @property
    def is_draft(self) -> bool:
        """Draft: it can be posted (an invoice also regenerated or discarded)."""
        return self.status == self.Status.DRAFT  # type: ignore[attr-defined]  # every document's Status has DRAFT

    @property
    def is_posted(self) -> bool:
        """Posted and live: it takes payments and credits, is applied, refunded and sent."""
        return self.status == self.Status.POSTED  # type: ignore[attr-defined]  # and POSTED

    @property
    def can_post(self) -> bool:
        return self.is_draft


class Invoice(PostedState, models.Model):
    """One invoice: per account, currency, legal entity and payment terms (and contract when the
    billing rule groups per contract). Posting freezes it; it is corrected by credit notes."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        POSTED = "posted", _("Posted")
        CANCELLED = "cancelled", _("Cancelled")

    class Kind(models.TextChoices):
        STANDARD = "standard", _("Invoice")
        # An open invoice of the system Recur replaced, carried over with its own number and dates so
        # payments can be allocated to it and it ages and is dunned like any invoice.
        OPENING = "opening", _("Opening balance")

    TRANSITIONS = {Status.DRAFT: {Status.POSTED}, Status.POSTED: {Status.CANCELLED}, Status.CANCELLED: set()}

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="invoices")
    # db_default: the invoice runs COPY rows on PostgreSQL without naming this column.
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.STANDARD, db_default=Kind.STANDARD)
    legal_entity = models.ForeignKey(LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(_("currency"), max_length=3)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), null=True, blank=True, on_delete=models.PROTECT, related_name="invoices",
        help_text=_("Set when the billing rule groups invoices per contract."),
    )
    language = models.CharField(_("document language"), max_length=2, default="en")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    number = models.CharField(_("number"), max_length=32, null=True, blank=True)
    sequence = models.PositiveBigIntegerField(_("sequence"), null=True, blank=True)
    invoice_date = models.DateField(_("invoice date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    target_date = models.DateField(_("billed up to"), null=True, blank=True)
    subtotal_amount = models.DecimalField(_("subtotal"), **MONEY, default=Decimal("0"))
    tax_amount = models.DecimalField(_("tax"), **MONEY, default=Decimal("0"))
    total_amount = models.DecimalField(_("total"), **MONEY, default=Decimal("0"))
    # The balance (DESIGN §3: total − payments allocated − credits allocated) and what it means, kept
    # by `invoice_settle` in the transaction that writes each allocation row, so aging, dunning and
    # lists read an indexed column instead of summing every allocation. Nobody edits them by hand.
    open_amount = models.DecimalField(_("balance"), **MONEY, default=Decimal("0"))
    payment_status = models.CharField(
        _("payment status"), max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )
    snapshot = models.JSONField(_("snapshot"), default=dict, blank=True)
    pdf = models.FileField(_("PDF"), upload_to="invoices/%Y/%m/", blank=True)
    run = models.ForeignKey(
        "invoicing.InvoiceRun", verbose_name=_("run"), null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    rebill_of = models.ForeignKey(
        "self", verbose_name=_("re-bills"), null=True, blank=True, on_delete=models.PROTECT, related_name="rebilled_by"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)
    # PROTECT: who posted is part of the frozen document; deactivate the user instead of deleting them.
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        indexes = [
            models.Index(fields=["status", "invoice_date"]),
            models.Index(fields=["account", "status"]),
            models.Index(fields=["status", "payment_status", "due_date"], name="invoice_status_pay_due"),
            # Receivables (aging, dunning, credit panels, allocation candidates) read open invoices only.
            models.Index(fields=["account", "currency", "due_date"], condition=Q(status="posted", open_amount__gt=0),
                         name="invoice_open_by_account"),
            # Open and overdue invoices by due date: dunning, payment runs, the overdue list.
            models.Index(fields=["status", "due_date"], name="invoice_status_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(open_amount__gte=0) & Q(open_amount__lte=models.F("total_amount")),
                name="invoice_open_within_total",
            ),
            models.UniqueConstraint(fields=["legal_entity", "number"], name="invoice_unique_number_per_entity"),
            models.UniqueConstraint(fields=["legal_entity", "sequence"], name="invoice_unique_sequence_per_entity"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False, invoice_date__isnull=False, due_date__isnull=False),
                name="invoice_posted_has_number_and_dates",
            ),
        ]

    def __str__(self) -> str:
        return self.number or _("Draft invoice %(id)s") % {"id": self.pk}

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    @property
    def display_number(self) -> str:
        return str(self)


class InvoiceLine(models.Model):
    """One line: the service period, quantity, unit price, proration, net, tax and total, and its source."""

    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(_("position"), default=0)
    source = models.CharField(_("source"), max_length=20, choices=LineSource.choices)
    schedule_entry = models.ForeignKey(
        ScheduleEntry, verbose_name=_("schedule entry"), null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    # The schedule entry while this line's invoice is live; NULL after cancel & rebill. UNIQUE: an
    # entry is billed on at most one live invoice line, enforced by the database.
    billing_key = models.BigIntegerField(_("billing key"), null=True, blank=True, unique=True, editable=False)
    subscription = models.ForeignKey(
        Subscription, verbose_name=_("subscription"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(_("description"), max_length=300)
    period_start = models.DateField(_("service from"), null=True, blank=True)
    period_end = models.DateField(_("service to (excluded)"), null=True, blank=True)
    quantity = models.DecimalField(_("quantity"), **MONEY)
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    factor_numerator = models.PositiveIntegerField(_("factor numerator"), default=1)
    factor_denominator = models.PositiveIntegerField(_("factor denominator"), default=1)
    factor_display = models.CharField(_("proration"), max_length=60, blank=True)
    net_amount = models.DecimalField(_("net"), **MONEY)
    tax_rate_percent = models.DecimalField(_("tax rate (%)"), max_digits=7, decimal_places=4, default=Decimal("0"))
    tax_label = models.CharField(_("tax"), max_length=50, blank=True)
    tax_amount = models.DecimalField(_("tax amount"), **MONEY, default=Decimal("0"))
    total_amount = models.DecimalField(_("total"), **MONEY)
    # An amendment's credit netted on an invoice (a negative line): the invoice line it corrects.
    corrects = models.ForeignKey(
        "self", verbose_name=_("corrects"), null=True, blank=True, on_delete=models.PROTECT, related_name="corrected_by",
        help_text=_("The original invoice line this line corrects; set by the invoice run, never edited."),
    )

    class Meta:
        ordering = ["invoice", "position", "id"]
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__isnull=True) | Q(period_end__gte=models.F("period_start")), name="invoiceline_period_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def is_prorated(self) -> bool:
        return self.factor_numerator != self.factor_denominator


class CreditNote(PostedState, models.Model):
    """A credit against a posted invoice (full, partial, cancel & rebill) or for amendment credits."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        POSTED = "posted", _("Posted")

    class Kind(models.TextChoices):
        FULL = "full", _("Full credit")
        PARTIAL = "partial", _("Partial credit")
        REBILL = "rebill", _("Cancel & rebill")
        AMENDMENT = "amendment", _("Amendment credit")

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="credit_notes")
    legal_entity = models.ForeignKey(LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(_("currency"), max_length=3)
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    language = models.CharField(_("document language"), max_length=2, default="en")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    number = models.CharField(_("number"), max_length=32, null=True, blank=True)
    sequence = models.PositiveBigIntegerField(_("sequence"), null=True, blank=True)
    credit_date = models.DateField(_("credit date"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    subtotal_amount = models.DecimalField(_("subtotal"), **MONEY, default=Decimal("0"))
    tax_amount = models.DecimalField(_("tax"), **MONEY, default=Decimal("0"))
    total_amount = models.DecimalField(_("total"), **MONEY, default=Decimal("0"))
    snapshot = models.JSONField(_("snapshot"), default=dict, blank=True)
    pdf = models.FileField(_("PDF"), upload_to="credit_notes/%Y/%m/", blank=True)
    run = models.ForeignKey(
        "invoicing.InvoiceRun", verbose_name=_("run"), null=True, blank=True, on_delete=models.SET_NULL, related_name="credit_notes"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)
    # PROTECT: who posted is part of the frozen document; deactivate the user instead of deleting them.
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "number"], name="creditnote_unique_number_per_entity"),
            models.UniqueConstraint(fields=["legal_entity", "sequence"], name="creditnote_unique_sequence_per_entity"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False, credit_date__isnull=False),
                name="creditnote_posted_has_number_and_date",
            ),
        ]

    def __str__(self) -> str:
        return self.number or _("Draft credit note %(id)s") % {"id": self.pk}


    @property
    def can_discard(self) -> bool:
        """A draft, unless it comes from a contract amendment (the schedule owns it: post it)."""
        return self.is_draft and self.kind != self.Kind.AMENDMENT


class CreditNoteLine(models.Model):
    """A credited amount (positive): part of an invoice line, or an amendment credit entry."""

    credit_note = models.ForeignKey(CreditNote, verbose_name=_("credit note"), on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(_("position"), default=0)
    source = models.CharField(_("source"), max_length=20, choices=LineSource.choices)
    invoice_line = models.ForeignKey(
        InvoiceLine, verbose_name=_("invoice line"), null=True, blank=True, on_delete=models.PROTECT, related_name="credit_lines"
    )
    schedule_entry = models.ForeignKey(
        ScheduleEntry, verbose_name=_("schedule entry"), null=True, blank=True, on_delete=models.PROTECT, related_name="credit_note_lines"
    )
    # The amendment credit entry this line issues; UNIQUE so a credit is issued once.
    credit_key = models.BigIntegerField(_("credit key"), null=True, blank=True, unique=True, editable=False)
    description = models.CharField(_("description"), max_length=300)
    period_start = models.DateField(_("service from"), null=True, blank=True)
    period_end = models.DateField(_("service to (excluded)"), null=True, blank=True)
    quantity = models.DecimalField(_("quantity"), **MONEY, default=Decimal("1"))
    unit_price = models.DecimalField(_("unit price"), **MONEY, default=Decimal("0"))
    factor_display = models.CharField(_("proration"), max_length=60, blank=True)
    net_amount = models.DecimalField(_("net"), **MONEY)
    tax_rate_percent = models.DecimalField(_("tax rate (%)"), max_digits=7, decimal_places=4, default=Decimal("0"))
    tax_label = models.CharField(_("tax"), max_length=50, blank=True)
    tax_amount = models.DecimalField(_("tax amount"), **MONEY, default=Decimal("0"))
    total_amount = models.DecimalField(_("total"), **MONEY)

    class Meta:
        ordering = ["credit_note", "position", "id"]
        verbose_name = _("credit note line")
        verbose_name_plural = _("credit note lines")
        constraints = [
            # Negative only for what a netted amendment deducts (its new charge, keyed by the entry) and
            # for crediting an invoice's netted amendment credit line in full.
            models.CheckConstraint(
                condition=Q(net_amount__gte=0) | Q(credit_key__isnull=False) | Q(source="amendment_credit"),
                name="creditnoteline_net_not_negative",
            )
        ]

    def __str__(self) -> str:
        return self.description
