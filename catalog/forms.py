"""Catalog forms: they parse and check types; the services validate the rules and write."""

from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing_site.countries import country_choices
from billing_site.forms import DateInput
from catalog.models import (
    BillingRule,
    LegalEntity,
    PriceBook,
    PriceBookEntry,
    Product,
    ProductFamily,
    RecognitionRule,
    TaxRate,
    TaxRule,
)
from catalog.pricing.price import FREE_UNIT_MODELS, TIER_MODELS
from catalog.services import (
    BILLING_RULE_FIELDS,
    FAMILY_FIELDS,
    LEGAL_ENTITY_FIELDS,
    PRICE_BOOK_FIELDS,
    PRODUCT_FIELDS,
    TAX_RULE_FIELDS,
)

CURRENCY_CHOICES = [(c, c) for c in settings.CURRENCIES]


def _amount_field(label, **kwargs):
    return forms.DecimalField(label=label, required=False, max_digits=18, decimal_places=6, **kwargs)


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = list(PRODUCT_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"billing_type": _("Usage is always billed in arrears.")}

    def clean(self):
        data = super().clean()
        # Usage is always rated in arrears: the choice is not the user's to make, so don't refuse it.
        if data.get("charge_type") == Product.ChargeType.USAGE:
            data["billing_type"] = Product.BillingType.ARREARS
        return data


class PriceBookForm(forms.ModelForm):
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)

    class Meta:
        model = PriceBook
        fields = list(PRICE_BOOK_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Active entities, and the book's current one even if it was deactivated since.
        current = self.instance.legal_entity_id if self.instance else None
        entity = self.fields["legal_entity"]
        entity.queryset = LegalEntity.objects.filter(Q(active=True) | Q(pk=current))
        entity.empty_label = _("— the product's billing rule decides —")


class EntryForm(forms.Form):
    """The price of a product in one book. Fields that do not apply to the chosen model are ignored."""

    price_book = forms.ModelChoiceField(label=_("Price book"), queryset=PriceBook.objects.none())
    pricing_model = forms.ChoiceField(label=_("Pricing model"), choices=PriceBookEntry.Model.choices)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, help_text=_("Must be the book's currency."))
    unit_price = _amount_field(_("Unit price"), help_text=_("Flat, per-unit and package prices (per package)."))
    package_size = _amount_field(_("Package size"), help_text=_("Package prices: units per package (at least 1)."))
    free_units = _amount_field(_("Free units"), help_text=_("Per-unit and package prices: units not charged."))
    recognition_rule = forms.ChoiceField(
        label=_("Revenue recognition"), required=False, choices=[("", _("The product's rule")), *RecognitionRule.choices]
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, books=None, fixed_book=None, **kwargs):
        super().__init__(*args, **kwargs)
        if fixed_book is not None:
            del self.fields["price_book"]
        else:
            self.fields["price_book"].queryset = books if books is not None else PriceBook.objects.all()

    def clean(self):
        data = super().clean()
        model = data.get("pricing_model")
        if model in TIER_MODELS:
            data["unit_price"] = None
        if model != PriceBookEntry.Model.PACKAGE:
            data["package_size"] = None
        if model not in FREE_UNIT_MODELS:
            data["free_units"] = None
        return data

    def service_data(self) -> dict:
        data = {k: self.cleaned_data.get(k) for k in ("pricing_model", "unit_price", "currency", "package_size", "free_units", "recognition_rule", "active")}
        if data["free_units"] is None:
            data["free_units"] = 0
        return data


class TierForm(forms.Form):
    """One row of the tier editor; a row left entirely blank is skipped."""

    lower = _amount_field(pgettext_lazy("tier lower bound", "From"))
    upper = _amount_field(_("Up to (excluded)"))
    unit_price = _amount_field(_("Unit price"))
    flat_fee = _amount_field(_("Flat fee"))

    def is_blank(self) -> bool:
        return all(self.cleaned_data.get(name) in (None, "") for name in self.fields)

    def clean(self):
        data = super().clean()
        if not self.is_blank():
            if data.get("lower") is None and "lower" not in self.errors:
                self.add_error("lower", _("Required."))
            if data.get("unit_price") is None and "unit_price" not in self.errors:
                self.add_error("unit_price", _("Required."))
        return data


class _RowsFormSet(forms.BaseFormSet):
    def rows(self) -> list[dict]:
        """The non-blank rows, in order, as plain dicts for the service."""
        return [
            {k: v for k, v in form.cleaned_data.items() if v is not None}
            for form in self.forms
            if form.cleaned_data and not form.is_blank()
        ]


TierFormSet = forms.formset_factory(TierForm, formset=_RowsFormSet, extra=0, max_num=50, validate_max=True)


def tier_rows_from_post(post, prefix: str = "tiers") -> list[dict]:
    """The tier rows as typed (strings), to re-render the editor after adding or removing a row."""
    try:
        total = min(int(post.get(f"{prefix}-TOTAL_FORMS", 0)), 50)
    except ValueError:
        total = 0
    return [{name: post.get(f"{prefix}-{i}-{name}", "") for name in TierForm.base_fields} for i in range(total)]


class LegalEntityForm(forms.ModelForm):
    country = forms.ChoiceField(label=_("Country"), choices=())
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)

    class Meta:
        model = LegalEntity
        fields = list(LEGAL_ENTITY_FIELDS)
        widgets = {"bank_details": forms.Textarea(attrs={"rows": 3}), "legal_mentions": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", "—"), *country_choices()]
        if self.instance.pk is None:
            self.fields["recovery_indemnity_amount"].help_text = _("Left blank for a French entity: 40.00.")


class BillingRuleForm(forms.ModelForm):
    class Meta:
        model = BillingRule
        fields = list(BILLING_RULE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Optional on the form: left out, one-time products bill on activation as before.
        self.fields["one_time_billing"].required = False

    def clean_one_time_billing(self):
        return self.cleaned_data.get("one_time_billing") or BillingRule.OneTimeBilling.ACTIVATION


class ProductFamilyForm(forms.ModelForm):
    class Meta:
        model = ProductFamily
        fields = list(FAMILY_FIELDS)


class TaxRuleForm(forms.ModelForm):
    class Meta:
        model = TaxRule
        fields = list(TAX_RULE_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class TaxRateForm(forms.Form):
    legal_entity = forms.ModelChoiceField(label=_("Legal entity"), queryset=LegalEntity.objects.all(), required=False, empty_label=_("Any"))
    country = forms.ChoiceField(label=_("Customer country"), choices=(), required=False)
    name = forms.CharField(label=_("Label on documents"), max_length=50, required=False)
    rate_percent = forms.DecimalField(label=_("Rate (%)"), max_digits=7, decimal_places=4, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", _("Any")), *country_choices()]

    def is_blank(self) -> bool:
        return not self.cleaned_data.get("name") and self.cleaned_data.get("rate_percent") is None

    def clean(self):
        data = super().clean()
        if not self.is_blank():
            if not data.get("name") and "name" not in self.errors:
                self.add_error("name", _("Required."))
            if data.get("rate_percent") is None and "rate_percent" not in self.errors:
                self.add_error("rate_percent", _("Required."))
        return data


class _RatesFormSet(forms.BaseFormSet):
    def rows(self) -> list[dict]:
        return [
            {k: v for k, v in form.cleaned_data.items()}
            for form in self.forms
            if form.cleaned_data and not form.is_blank()
        ]


TaxRateFormSet = forms.formset_factory(TaxRateForm, formset=_RatesFormSet, extra=2)


def tax_rate_initial(rule: TaxRule | None) -> list[dict]:
    if rule is None:
        return []
    return [
        {"legal_entity": r.legal_entity_id, "country": r.country, "name": r.name, "rate_percent": r.rate_percent}
        for r in TaxRate.objects.filter(tax_rule=rule)
    ]


class PreviewForm(forms.Form):
    """The price preview on the product page (also what `POST /api/v1/pricing/preview` takes)."""

    book = forms.ModelChoiceField(label=_("Price book"), queryset=PriceBook.objects.none())
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=18, decimal_places=6)
    start = forms.DateField(label=_("Start"), widget=DateInput())
    end = forms.DateField(
        label=_("End (first day not served)"), required=False, widget=DateInput(),
    )
    billing_day = forms.IntegerField(
        label=_("Billing day"), required=False, min_value=1, max_value=31,
        help_text=_("Only for rules that bill on the account's billing day."),
    )

    def __init__(self, *args, books=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["book"].queryset = books if books is not None else PriceBook.objects.none()
