from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_email
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing_site.countries import COUNTRY_CODES, country_name


def validate_country(value: str) -> None:
    if value not in COUNTRY_CODES:
        raise ValidationError(_("“%(value)s” is not an ISO 3166 country code."), params={"value": value})


def validate_currency(value: str) -> None:
    if value not in settings.CURRENCIES:
        raise ValidationError(_("“%(value)s” is not a supported currency."), params={"value": value})


def validate_email_list(value: str) -> None:
    for email in split_emails(value):
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ValidationError(_("“%(email)s” is not a valid email address."), params={"email": email}) from exc


def split_emails(value: str) -> list[str]:
    return [e.strip() for e in (value or "").replace(";", ",").replace("\n", ",").split(",") if e.strip()]


class Account(models.Model):
    """A company that is billed."""

    number_prefix = "ACC"  # billing_site.numbering

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED = "closed", _("Closed")

    class Language(models.TextChoices):
        EN = "en", _("English")
        FR = "fr", _("French")

    number = models.CharField(_("account number"), max_length=20, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("state / region"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, validators=[validate_country])
    tax_id = models.CharField(_("tax / VAT id"), max_length=40, blank=True)
    tax_exempt = models.BooleanField(_("tax exempt"), default=False)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    language = models.CharField(_("document language"), max_length=2, choices=Language.choices, default=Language.EN)
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"), default=30, validators=[MaxValueValidator(365)]
    )
    billing_day = models.PositiveSmallIntegerField(
        _("billing day of month"), default=1, validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text=_("1–31; clamped to the last day in shorter months."),
    )
    credit_limit_amount = models.DecimalField(
        _("credit limit"), max_digits=18, decimal_places=6, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))], help_text=_("0 means no credit limit is set."),
    )
    credit_hold = models.BooleanField(_("credit hold"), default=False)
    billing_emails = models.TextField(
        _("billing emails"), blank=True, validators=[validate_email_list],
        help_text=_("Separate several addresses with commas."),
    )
    sales_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sales owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="owned_accounts",
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        indexes = [models.Index(fields=["status", "name"]), models.Index(fields=["currency"])]
        constraints = [
            models.CheckConstraint(condition=Q(billing_day__gte=1, billing_day__lte=31), name="account_billing_day_1_31"),
            models.CheckConstraint(condition=Q(credit_limit_amount__gte=0), name="account_credit_limit_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def country_name(self) -> str:
        return country_name(self.country)

    @property
    def billing_email_list(self) -> list[str]:
        return split_emails(self.billing_emails)

    @property
    def address_lines(self) -> list[str]:
        city = " ".join(p for p in [self.postal_code, self.city] if p)
        return [line for line in [self.address_line1, self.address_line2, city, self.region, self.country_name] if line]


class Contact(models.Model):
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    is_billing_contact = models.BooleanField(_("billing contact"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-is_billing_contact", "last_name", "first_name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(is_billing_contact=True), name="contact_one_billing_contact_per_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name(self) -> str:
        return str(self)
