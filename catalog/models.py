"""Catalog: legal entities, tax and billing rules, products, price books and their entries."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from billing_site.countries import country_name
from catalog.pricing import DEFAULT_TERM_MONTHS, PriceSpec, Tier
from customers.models import validate_country, validate_currency

PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]
NOT_NEGATIVE = [MinValueValidator(Decimal("0"))]


class LegalEntity(models.Model):
    """The company that issues documents: its details and number series are printed on them."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, validators=[validate_country])
    tax_id = models.CharField(_("tax / VAT id"), max_length=40, blank=True)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    invoice_prefix = models.CharField(_("invoice number prefix"), max_length=20, unique=True)
    credit_note_prefix = models.CharField(_("credit note number prefix"), max_length=20, unique=True)
    bank_details = models.TextField(_("bank details"), blank=True, help_text=_("Printed on invoices: bank, IBAN, BIC."))
    email = models.EmailField(_("email"), blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    # Legal mentions a French B2B invoice must carry (Code de commerce L441-9 and R123-237, CGI 242
    # nonies A): printed on invoices and credit notes, frozen in each posted document's snapshot.
    legal_form = models.CharField(_("legal form"), max_length=60, blank=True, help_text=_("e.g. “SAS”, “SARL”, “Inc.”."))
    share_capital_amount = models.DecimalField(
        _("share capital"), max_digits=18, decimal_places=2, null=True, blank=True, validators=NOT_NEGATIVE,
        help_text=_("In the entity's currency."),
    )
    registration = models.CharField(
        _("registration (SIREN / RCS)"), max_length=120, blank=True, help_text=_("e.g. “RCS Paris 123 456 789”.")
    )
    late_payment_rate_percent = models.DecimalField(
        _("late-payment penalty rate (% a year)"), max_digits=7, decimal_places=4, null=True, blank=True, validators=PERCENT,
    )
    recovery_indemnity_amount = models.DecimalField(
        _("fixed recovery indemnity"), max_digits=18, decimal_places=2, null=True, blank=True, validators=NOT_NEGATIVE,
        help_text=_("Owed for collection costs on late payment; 40.00 by default in France."),
    )
    legal_mentions = models.TextField(
        _("other legal mentions"), blank=True, help_text=_("Printed as written at the foot of invoices and credit notes."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("legal entity")
        verbose_name_plural = _("legal entities")

    def __str__(self) -> str:
        return self.name

    @property
    def address_lines(self) -> list[str]:
        city = " ".join(p for p in [self.postal_code, self.city] if p)
        return [line for line in [self.address_line1, self.address_line2, city, country_name(self.country)] if line]


class TaxRule(models.Model):
    """Whether products under this rule are taxed, and at which rates (per legal entity / country)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    taxable = models.BooleanField(_("taxable"), default=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tax rule")
        verbose_name_plural = _("tax rules")

    def __str__(self) -> str:
        return self.name


class TaxRate(models.Model):
    """A rate of a tax rule. Blank legal entity or country means "any"; the most specific rate wins."""

    tax_rule = models.ForeignKey(TaxRule, verbose_name=_("tax rule"), on_delete=models.CASCADE, related_name="rates")
    legal_entity = models.ForeignKey(
        LegalEntity, verbose_name=_("legal entity"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    country = models.CharField(_("customer country"), max_length=2, blank=True, validators=[validate_country])
    name = models.CharField(_("label on documents"), max_length=50, help_text=_("e.g. “VAT 20%”."))
    rate_percent = models.DecimalField(_("rate (%)"), max_digits=7, decimal_places=4, validators=PERCENT)

    class Meta:
        ordering = ["tax_rule", "country", "legal_entity"]
        verbose_name = _("tax rate")
        verbose_name_plural = _("tax rates")
        constraints = [
            models.UniqueConstraint(
                fields=["tax_rule", "legal_entity", "country"], name="taxrate_unique_scope",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=Q(rate_percent__gte=0, rate_percent__lte=100), name="taxrate_percent_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rate_percent.normalize():f}%)"


class BillingRule(models.Model):
    """How a product is billed: period boundaries, day count, grouping, and the issuing legal entity
    of books that do not name one (`PriceBook.legal_entity` wins)."""

    class Boundary(models.TextChoices):
        ANNIVERSARY = "anniversary", _("Anniversary")
        BILLING_DAY = "billing_day", _("Account billing day")
        CALENDAR = "calendar", _("Calendar")

    class DayCount(models.TextChoices):
        ACTUAL_DAYS = "actual_days", _("Actual days")
        THIRTY_360 = "thirty_360", _("30/360")

    class Grouping(models.TextChoices):
        ACCOUNT = "account", _("Per account")
        CONTRACT = "contract", _("Per contract")

    name = models.CharField(_("name"), max_length=100, unique=True)
    legal_entity = models.ForeignKey(LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="billing_rules")
    period_boundary = models.CharField(_("period boundary"), max_length=16, choices=Boundary.choices, default=Boundary.ANNIVERSARY)
    day_count = models.CharField(_("day count"), max_length=16, choices=DayCount.choices, default=DayCount.ACTUAL_DAYS)
    invoice_grouping = models.CharField(_("invoice grouping"), max_length=16, choices=Grouping.choices, default=Grouping.ACCOUNT)
    generate_invoices = models.BooleanField(_("generate invoices"), default=True)
    net_amendments = models.BooleanField(
        _("net amendments on one document"), default=True,
        help_text=_("An amendment's credit and charge billed together go on one document: an invoice when the net is "
                    "positive, a credit note when it is negative. Off: a separate invoice and credit note."),
    )

    class OneTimeBilling(models.TextChoices):
        ACTIVATION = "activation", _("On activation")
        DELIVERY = "delivery", _("On delivery")

    # One-time products that need delivery may be billed when delivered instead of on activation.
    one_time_billing = models.CharField(
        _("bill one-time products"), max_length=16, choices=OneTimeBilling.choices, default=OneTimeBilling.ACTIVATION,
        help_text=_("“On delivery” bills a one-time product that needs delivery on the day it is delivered."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("billing rule")
        verbose_name_plural = _("billing rules")

    def __str__(self) -> str:
        return self.name


class ProductFamily(models.Model):
    """A group of products; discounts above its threshold need finance approval on quotes."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    approval_discount_percent = models.DecimalField(
        _("discount needing approval above (%)"), max_digits=5, decimal_places=2, default=Decimal("20"), validators=PERCENT,
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("product family")
        verbose_name_plural = _("product families")

    def __str__(self) -> str:
        return self.name


class RecognitionRule(models.TextChoices):
    """How revenue of a line is recognized (DESIGN §3 "Revenue and the books"); read by accounting."""

    DAILY = "daily", _("Daily over the service period")
    MONTHLY_EVEN = "monthly_even", _("Equal per month")
    MONTHLY_PRORATED = "monthly_prorated", _("Per month, partial months by days")
    AT_DATE = "at_date", _("All at the invoice date")
    USAGE = "usage", _("In the usage period")


class Product(models.Model):
    class ChargeType(models.TextChoices):
        ONE_TIME = "one_time", _("One-time")
        RECURRING = "recurring", _("Recurring")
        USAGE = "usage", _("Usage")

    class BillingType(models.TextChoices):
        ADVANCE = "advance", _("In advance")
        ARREARS = "arrears", _("In arrears")

    class Frequency(models.IntegerChoices):
        MONTHLY = 1, _("Monthly")
        QUARTERLY = 3, _("Quarterly")
        SEMIANNUAL = 6, _("Semiannual")
        ANNUAL = 12, _("Annual")

    sku = models.CharField(_("SKU"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    family = models.ForeignKey(
        ProductFamily, verbose_name=_("family"), null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    active = models.BooleanField(_("active"), default=True)
    charge_type = models.CharField(_("charge type"), max_length=16, choices=ChargeType.choices, default=ChargeType.RECURRING)
    billing_type = models.CharField(_("billing type"), max_length=16, choices=BillingType.choices, default=BillingType.ADVANCE)
    billing_frequency = models.PositiveSmallIntegerField(
        _("billing frequency"), choices=Frequency.choices, default=Frequency.MONTHLY
    )
    default_term_months = models.PositiveSmallIntegerField(
        _("default subscription term (months)"), null=True, blank=True, validators=[MinValueValidator(1)],
        help_text=_("Blank means 12 months. Recurring prices are for this term."),
    )
    unit_of_measure = models.CharField(_("unit of measure"), max_length=30, default="unit")
    recognition_rule = models.CharField(
        _("revenue recognition"), max_length=20, choices=RecognitionRule.choices, blank=True,
        help_text=_("Blank: by charge type (daily for recurring, at the invoice date for one-time, in the usage period for usage)."),
    )
    needs_delivery = models.BooleanField(
        _("needs delivery"), default=False,
        help_text=_("Ordered units carry a due date and are confirmed delivered (Contracts → Deliveries)."),
    )
    billing_rule = models.ForeignKey(
        BillingRule, verbose_name=_("billing rule"), null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    tax_rule = models.ForeignKey(
        TaxRule, verbose_name=_("tax rule"), null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            # Usage is always rated in arrears on the period's total.
            models.CheckConstraint(condition=~Q(charge_type="usage") | Q(billing_type="arrears"), name="product_usage_in_arrears"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    @property
    def term_months(self) -> int:
        return self.default_term_months or DEFAULT_TERM_MONTHS


class PriceBook(models.Model):
    """Prices in one currency, and the legal entity that sells through them (see `selectors.legal_entity_for`)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    active = models.BooleanField(_("active"), default=True)
    is_standard = models.BooleanField(_("standard"), default=False, help_text=_("The default book for its currency."))
    legal_entity = models.ForeignKey(
        LegalEntity, verbose_name=_("legal entity"), null=True, blank=True, on_delete=models.PROTECT, related_name="price_books",
        help_text=_("The company that sells and invoices through this book; blank: the product's billing rule decides"),
    )

    class Meta:
        ordering = ["currency", "name"]
        verbose_name = _("price book")
        verbose_name_plural = _("price books")
        constraints = [
            models.UniqueConstraint(fields=["currency"], condition=Q(is_standard=True), name="pricebook_one_standard_per_currency")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class PriceBookEntry(models.Model):
    """The price of one product in one book, under one pricing model (DESIGN §3)."""

    class Model(models.TextChoices):
        FLAT = "flat", _("Flat")
        PER_UNIT = "per_unit", _("Per unit")
        TIERED = "tiered", _("Tiered (graduated)")
        VOLUME = "volume", _("Volume")
        BLOCK = "block", _("Block")
        PACKAGE = "package", _("Package")

    price_book = models.ForeignKey(PriceBook, verbose_name=_("price book"), on_delete=models.CASCADE, related_name="entries")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="entries")
    pricing_model = models.CharField(_("pricing model"), max_length=16, choices=Model.choices, default=Model.PER_UNIT)
    unit_price = MoneyField(
        _("unit price"), max_digits=18, decimal_places=6, null=True, blank=True, default_currency=None,
        validators=[MinValueValidator(Decimal("0"))],
    )
    package_size = models.DecimalField(
        _("package size"), max_digits=18, decimal_places=6, null=True, blank=True, validators=[MinValueValidator(Decimal("1"))]
    )
    free_units = models.DecimalField(_("free units"), max_digits=18, decimal_places=6, default=Decimal("0"), validators=NOT_NEGATIVE)
    recognition_rule = models.CharField(
        _("revenue recognition"), max_length=20, choices=RecognitionRule.choices, blank=True,
        help_text=_("Blank: the product's rule."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["price_book", "product__name"]
        verbose_name = _("price book entry")
        verbose_name_plural = _("price book entries")
        constraints = [
            models.UniqueConstraint(fields=["price_book", "product"], name="pricebookentry_unique_product_per_book"),
        ]

    def __str__(self) -> str:
        return f"{self.product} @ {self.price_book}"

    @property
    def currency(self) -> str:
        return self.price_book.currency

    def price_spec(self, tiers=None) -> PriceSpec:
        """The pure pricing engine's view of this entry (pass prefetched tiers to save queries)."""
        from catalog.numbers import plain  # values as written, so the engine's messages read "up to 11"

        tier_rows = tiers if tiers is not None else list(self.tiers.all())
        return PriceSpec(
            model=self.pricing_model,
            unit_price=plain(self.unit_price.amount) if self.unit_price is not None else None,
            tiers=tuple(Tier(plain(t.lower), plain(t.upper), plain(t.unit_price), plain(t.flat_fee)) for t in tier_rows),
            package_size=plain(self.package_size),
            free_units=plain(self.free_units),
        )


class PriceTier(models.Model):
    """A tier of an entry: units from `lower` (inclusive) to `upper` (exclusive; blank = no end)."""

    entry = models.ForeignKey(PriceBookEntry, verbose_name=_("entry"), on_delete=models.CASCADE, related_name="tiers")
    lower = models.DecimalField(_("from"), max_digits=18, decimal_places=6, validators=NOT_NEGATIVE)
    upper = models.DecimalField(_("up to (excluded)"), max_digits=18, decimal_places=6, null=True, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=6, validators=NOT_NEGATIVE)
    flat_fee = models.DecimalField(_("flat fee"), max_digits=18, decimal_places=6, default=Decimal("0"), validators=NOT_NEGATIVE)

    class Meta:
        ordering = ["entry", "lower"]
        verbose_name = _("price tier")
        verbose_name_plural = _("price tiers")
        constraints = [models.UniqueConstraint(fields=["entry", "lower"], name="pricetier_unique_lower")]

    def __str__(self) -> str:
        upper = f"{self.upper.normalize():f}" if self.upper is not None else "∞"
        return f"[{self.lower.normalize():f}, {upper})"
