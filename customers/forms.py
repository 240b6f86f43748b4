from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from billing_site.countries import country_choices
from billing_site.roles import Role, is_finance
from customers.models import Account, Contact
from customers.services import FINANCE_FIELDS, OPENING_FIELDS


class AccountForm(forms.ModelForm):
    """Parses and validates; the service writes. Tax, currency, billing and credit fields are read-only for sales reps."""

    country = forms.ChoiceField(label=_("Country"), choices=())
    currency = forms.ChoiceField(label=_("Currency"), choices=[(c, c) for c in settings.CURRENCIES])

    class Meta:
        model = Account
        fields = [
            "name", "legal_name", "status", "currency", "language", "country", "address_line1", "address_line2",
            "postal_code", "city", "region", "tax_id", "tax_exempt", "billing_emails", "sales_owner",
            "payment_terms_days", "billing_day", "credit_limit_amount", "credit_hold", "notes",
        ]
        widgets = {"billing_emails": forms.Textarea(attrs={"rows": 2}), "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", "—"), *country_choices()]
        owners = get_user_model().objects.filter(groups__name=Role.SALES.value, is_active=True).order_by("username")
        self.fields["sales_owner"].queryset = owners
        if user is not None and not is_finance(user):
            # Read-only for sales reps (the service refuses them too); a new account still needs
            # its country, currency and legal identity from whoever opens it.
            creating = self.instance.pk is None
            for name in FINANCE_FIELDS:
                if creating and name in OPENING_FIELDS:
                    continue
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Set by finance.")


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "email", "phone", "title", "is_billing_contact"]
