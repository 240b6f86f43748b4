"""Forms parse and validate input; the services write."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from billing_site.forms import DateInput
from customers.models import Account
from payments.models import DunningStep, PaymentMethodKind


class PaymentForm(forms.Form):
    account = forms.ModelChoiceField(label=_("Account"), queryset=Account.objects.order_by("name"))
    amount = forms.DecimalField(label=_("Amount"), max_digits=18, decimal_places=6, min_value=0)
    currency = forms.ChoiceField(label=_("Currency"), choices=[("", "—"), *[(c, c) for c in settings.CURRENCIES]],
                                 required=False, help_text=_("The account's currency when left empty."))
    received_date = forms.DateField(label=_("Received on"), widget=DateInput)
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethodKind.choices)
    reference = forms.CharField(label=_("Reference"), max_length=140, required=False,
                                help_text=_("Bank reference, check number…"))
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    auto_allocate = forms.BooleanField(label=_("Allocate automatically to open invoices, oldest due first"),
                                       required=False, initial=True)
    other_currency = forms.BooleanField(
        label=_("Record it in a currency other than the account's"), required=False,
        help_text=_("Only for money really received in that currency: it can only pay invoices in that currency."),
    )

    def clean(self):
        """The account's currency by default; another one only when confirmed, or the money is
        stranded (no invoice of the account in that currency to apply it to)."""
        data = super().clean()
        account = data.get("account")
        if account is None:
            return data
        if not data.get("currency"):
            data["currency"] = account.currency
        elif data["currency"] != account.currency and not data.get("other_currency"):
            self.add_error("currency", _(
                "%(account)s is billed in %(account_currency)s: a payment in %(currency)s cannot pay its invoices. "
                "Choose %(account_currency)s, or tick “Record it in a currency other than the account's”."
            ) % {"account": account.number, "account_currency": account.currency, "currency": data["currency"]})
        return data


class AllocateForm(forms.Form):
    invoice = forms.IntegerField(label=_("Invoice"))
    amount = forms.DecimalField(label=_("Amount"), max_digits=18, decimal_places=6, min_value=0)
    invoice_line = forms.IntegerField(label=_("Invoice line"), required=False)


class UnallocateForm(forms.Form):
    invoice = forms.IntegerField(label=_("Invoice"))
    amount = forms.DecimalField(label=_("Amount"), max_digits=18, decimal_places=6, min_value=0, required=False,
                                help_text=_("Leave empty to take back everything allocated to this invoice."))


class RefundForm(forms.Form):
    # No default amount: money leaves for good, so the clerk types what to give back, and why.
    amount = forms.DecimalField(label=_("Amount to refund"), max_digits=18, decimal_places=6, min_value=Decimal("0.01"))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=True,
                             error_messages={"required": _("Say why the money is given back.")})


class CreditRefundForm(RefundForm):
    method = forms.ChoiceField(label=_("Paid out by"), choices=PaymentMethodKind.choices, initial=PaymentMethodKind.BANK_TRANSFER)


class PaymentMethodForm(forms.Form):
    token = forms.CharField(label=_("Gateway token"), max_length=100,
                            help_text=_("The token the gateway returned for the card (e.g. tok_visa in the sandbox). Never a card number."))
    brand = forms.CharField(label=_("Brand"), max_length=20, required=False)
    last4 = forms.CharField(label=_("Last 4 digits"), max_length=4, required=False)
    exp_month = forms.IntegerField(label=_("Expiry month"), required=False, min_value=1, max_value=12)
    exp_year = forms.IntegerField(label=_("Expiry year"), required=False, min_value=2000, max_value=2100)
    is_autopay = forms.BooleanField(label=_("Use for autopay"), required=False)


class DunningStepForm(forms.ModelForm):
    class Meta:
        model = DunningStep
        fields = ["name", "offset_days", "action", "template", "active"]


class StatementUploadForm(forms.Form):
    file = forms.FileField(label=_("Statement file"), help_text=_("CSV (date, amount, currency, reference, counterparty) or CAMT.053 XML."))


class LineResolveForm(forms.Form):
    ACTIONS = [("match", _("Match to invoices")), ("assign", _("Record as unapplied payment of an account")), ("ignore", _("Ignore"))]
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    invoices = forms.CharField(label=_("Invoice numbers"), required=False,
                               help_text=_("One or more invoice numbers, separated by commas."))
    account = forms.ModelChoiceField(label=_("Account"), queryset=Account.objects.order_by("name"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class ReportForm(forms.Form):
    currency = forms.ChoiceField(label=_("Currency"), choices=[(c, c) for c in settings.CURRENCIES], required=False)
    as_of = forms.DateField(label=_("As of"), required=False, widget=DateInput)


class StatementPeriodForm(forms.Form):
    start = forms.DateField(label=_("Start date"), required=False, widget=DateInput)
    end = forms.DateField(label=_("End date"), required=False, widget=DateInput)
