"""The books: chart of accounts, finance periods, revenue schedules and the double-entry journal.

What the database holds (DESIGN §3 "Revenue and the books"), on PostgreSQL through the triggers of
migration 0001:
- every journal entry balances (a deferred constraint trigger sums its lines at commit);
- journal entries and lines are never updated or deleted (they are reversed by new entries);
- nothing is written into a closed finance period: no entry, no line, no recognition of a row;
- each source document is journaled once per kind (UNIQUE `kind`, `source_key`) and each line's
  schedule row once per period (UNIQUE `line_key`, `kind`, `period_start`).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog.models import LegalEntity, Product
from contracts.models import OrderProduct
from customers.models import Account
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from payments.models import Payment, Refund

MONEY = {"max_digits": 18, "decimal_places": 6}


class AccountRole(models.TextChoices):
    """What the posting rules need an account for; each role is held by one account per entity."""

    RECEIVABLE = "receivable", _("Receivable (customers)")
    REVENUE = "revenue", _("Revenue")
    DEFERRED_REVENUE = "deferred_revenue", _("Deferred revenue")
    VAT_COLLECTED = "vat_collected", _("VAT collected")
    BANK = "bank", _("Bank")
    # Lines scheduled at order activation: recognition debits it, billing credits it. A debit balance
    # is revenue earned but not yet invoiced, a credit balance revenue invoiced ahead of its schedule.
    UNBILLED = "unbilled", _("Unbilled revenue (contract balance)")


class RecognitionTiming(models.Model):
    """When a product's revenue schedule is created: on invoice posting (the default, when no row
    exists) or at order activation, from the contracted amount over the ordered term."""

    class ScheduleOn(models.TextChoices):
        INVOICE_POSTING = "invoice_posting", _("Invoice posting")
        ORDER_ACTIVATION = "order_activation", _("Order activation")

    product = models.OneToOneField(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="+")
    schedule_on = models.CharField(_("schedule created on"), max_length=20, choices=ScheduleOn.choices,
                                   default=ScheduleOn.INVOICE_POSTING)

    class Meta:
        verbose_name = _("recognition timing")
        verbose_name_plural = _("recognition timings")

    def __str__(self) -> str:
        return f"{self.product} · {self.get_schedule_on_display()}"


class Books(models.Model):
    """A legal entity's accounting settings: its period calendar and the SIREN the FEC file names."""

    class Calendar(models.TextChoices):
        MONTHLY = "monthly", _("Calendar months")
        FOUR_FOUR_FIVE = "445", _("4-4-5 weeks per quarter")

    legal_entity = models.OneToOneField(LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="books")
    calendar = models.CharField(_("period calendar"), max_length=10, choices=Calendar.choices, default=Calendar.MONTHLY)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True, help_text=_("Nine digits; names the FEC file."))

    class Meta:
        verbose_name = _("books")
        verbose_name_plural = _("books")

    def __str__(self) -> str:
        return str(self.legal_entity)


class ChartAccount(models.Model):
    """One account of a legal entity's chart (411, 706, 487, 44571, 512 for a French company)."""

    legal_entity = models.ForeignKey(LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("account number"), max_length=20)
    name = models.CharField(_("name"), max_length=120)
    role = models.CharField(_("used for"), max_length=20, choices=AccountRole.choices, null=True, blank=True)

    class Meta:
        ordering = ["legal_entity", "code"]
        verbose_name = _("ledger account")
        verbose_name_plural = _("chart of accounts")
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "code"], name="chartaccount_unique_code"),
            models.UniqueConstraint(fields=["legal_entity", "role"], name="chartaccount_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class FinancePeriod(models.Model):
    """A finance period `[start_date, end_date)` of a legal entity: open → closed (reopen: Admin)."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("finance period", "Open")
        CLOSED = "closed", pgettext_lazy("finance period", "Closed")

    legal_entity = models.ForeignKey(LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=20)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("to (excluded)"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["legal_entity", "start_date"]
        verbose_name = _("finance period")
        verbose_name_plural = _("finance periods")
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "start_date"], name="financeperiod_unique_start"),
            models.CheckConstraint(condition=Q(end_date__gt=F("start_date")), name="financeperiod_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.legal_entity} {self.name}"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class JournalEntry(models.Model):
    """One balanced entry, from one source document (or one recognition pass), in one period."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice posted")
        CREDIT_NOTE = "credit_note", _("Credit note")
        RECOGNITION = "recognition", _("Revenue recognized")
        PAYMENT = "payment", _("Payment received")
        REFUND = "refund", _("Refund issued")
        REVERSAL = "reversal", _("Reversal")

    class Journal(models.TextChoices):
        SALES = "VE", _("Sales")
        BANK = "BQ", _("Bank")
        MISC = "OD", _("Miscellaneous")

    legal_entity = models.ForeignKey(LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="+")
    period = models.ForeignKey(FinancePeriod, verbose_name=_("period"), on_delete=models.PROTECT, related_name="entries")
    journal = models.CharField(_("journal"), max_length=4, choices=Journal.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # What was journaled: "invoice:<id>", "credit_note:<id>", "payment:<id>", "refund:<id>",
    # "recognition:<period>:<n>". UNIQUE with `kind`: a document is journaled once.
    source_key = models.CharField(_("source"), max_length=60)
    entry_date = models.DateField(_("date"))
    piece_ref = models.CharField(_("document"), max_length=40, blank=True)
    piece_date = models.DateField(_("document date"), null=True, blank=True)
    label = models.CharField(_("label"), max_length=200)
    currency = models.CharField(_("currency"), max_length=3)
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    credit_note = models.ForeignKey(CreditNote, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["entry_date", "id"]
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        indexes = [models.Index(fields=["legal_entity", "entry_date"])]
        constraints = [models.UniqueConstraint(fields=["kind", "source_key"], name="journalentry_once_per_source")]

    def __str__(self) -> str:
        return f"{self.journal} {self.entry_date} {self.label}"


class JournalLine(models.Model):
    """A debit or a credit on one ledger account (and the customer's auxiliary account for 411)."""

    entry = models.ForeignKey(JournalEntry, verbose_name=_("journal entry"), on_delete=models.PROTECT, related_name="lines")
    # Copies of the entry's, so the close-period trigger and the exports need no join.
    period = models.ForeignKey(FinancePeriod, verbose_name=_("period"), on_delete=models.PROTECT, related_name="+")
    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+")
    ledger_account = models.ForeignKey(ChartAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="lines")
    customer = models.ForeignKey(Account, verbose_name=_("customer"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    label = models.CharField(_("label"), max_length=200)
    debit = models.DecimalField(_("debit"), **MONEY, default=Decimal("0"))
    credit = models.DecimalField(_("credit"), **MONEY, default=Decimal("0"))

    class Meta:
        ordering = ["entry", "id"]
        verbose_name = _("journal line")
        verbose_name_plural = _("journal lines")
        indexes = [models.Index(fields=["period", "ledger_account"])]
        constraints = [
            models.CheckConstraint(condition=Q(debit__gte=0, credit__gte=0), name="journalline_not_negative"),
            models.CheckConstraint(condition=Q(debit=0) | Q(credit=0), name="journalline_one_side"),
        ]

    def __str__(self) -> str:
        return f"{self.ledger_account_id} D{self.debit} C{self.credit}"


class RevenueLine(models.Model):
    """One row of a line's revenue schedule: what it earns in one finance period.

    Invoice lines earn positive rows; credit note lines negative ones. `recognized_entry` is set,
    by a conditional UPDATE, by the entry that moved the row to revenue."""

    class Kind(models.TextChoices):
        SCHEDULE = "schedule", _("Scheduled")
        # The part of a credit note beyond what was still deferred: it reduces revenue already
        # recognized, in the open period where the credit is journaled.
        RECOGNIZED_REDUCTION = "reduction", _("Reduces recognized revenue")

    # Few indexes on purpose: recognizing a month rewrites every row of it, and each index costs.
    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Account, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+", db_index=False)
    product = models.ForeignKey(
        Product, verbose_name=_("product"), null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    invoice_line = models.ForeignKey(InvoiceLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    credit_note_line = models.ForeignKey(
        CreditNoteLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Set on the rows of a line scheduled at order activation (and on the invoice true-up and credit
    # rows that adjust that schedule): their recognition goes through the unbilled-revenue account.
    order_product = models.ForeignKey(
        OrderProduct, verbose_name=_("order product"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    line_key = models.CharField(max_length=30)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.SCHEDULE)
    rule = models.CharField(_("rule"), max_length=20)
    currency = models.CharField(_("currency"), max_length=3)
    billed_date = models.DateField(_("billed on"))
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to (excluded)"))
    amount = models.DecimalField(_("amount"), **MONEY)
    # No database foreign key on these two: recognizing a month sets them on every row of it, and a
    # per-row key check would double the cost. Nothing dangles: entries are never deleted (trigger)
    # and periods are never deleted (nothing offers it; PROTECT in the ORM).
    recognized_entry = models.ForeignKey(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    recognized_period = models.ForeignKey(
        FinancePeriod, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )

    class Meta:
        ordering = ["line_key", "period_start"]
        verbose_name = _("revenue schedule row")
        verbose_name_plural = _("revenue schedule rows")
        indexes = [
            models.Index(
                fields=["legal_entity", "period_start"], name="revenueline_unrecognized", condition=Q(recognized_period__isnull=True)
            ),
            models.Index(fields=["customer", "period_start"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["line_key", "kind", "period_start"], name="revenueline_once_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.line_key} {self.period_start} {self.amount}"
