"""Forms parse and validate input; services write."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from catalog.models import LegalEntity
from customers.models import Account
from invoicing.models import InvoiceSchedule

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MAX_ACCOUNT_FILTER = 1000


class RunFiltersMixin(forms.Form):
    legal_entity = forms.ModelChoiceField(label=_("Legal entity"), queryset=LegalEntity.objects.none(), required=False)
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    accounts = forms.CharField(label=_("Accounts"), required=False,
                               help_text=_("Account numbers, e.g. “ACC-00001, ACC-00007”; blank = every account."))
    billing_days = forms.CharField(label=_("Batch: billing days"), required=False, help_text=_("e.g. “1, 15”: only accounts billed on these days of the month."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["legal_entity"].queryset = LegalEntity.objects.filter(active=True)
        self.fields["currency"].choices = [("", "—"), *[(c, c) for c in settings.CURRENCIES]]

    def _ints(self, name, low=1, high=None):
        raw = self.cleaned_data.get(name) or ""
        try:
            values = [int(x) for x in raw.replace(";", ",").split(",") if x.strip()]
        except ValueError:
            raise forms.ValidationError(_("Enter whole numbers separated by commas.")) from None
        if high and any(not low <= v <= high for v in values):
            raise forms.ValidationError(_("Between %(low)s and %(high)s.") % {"low": low, "high": high})
        return values

    def clean_accounts(self):
        """Account numbers (as people know accounts) to the ids the run filters on; unknown ones named."""
        raw = self.cleaned_data.get("accounts") or ""
        numbers = list(dict.fromkeys(x.strip().upper() for x in raw.replace(";", ",").replace(" ", ",").split(",") if x.strip()))
        if len(numbers) > MAX_ACCOUNT_FILTER:
            raise forms.ValidationError(_("At most %(count)s accounts.") % {"count": MAX_ACCOUNT_FILTER})
        ids = dict(Account.objects.filter(number__in=numbers).values_list("number", "pk"))
        unknown = [n for n in numbers if n not in ids]
        if unknown:
            raise forms.ValidationError(_("No account numbered %(numbers)s.") % {"numbers": ", ".join(unknown)})
        return [ids[n] for n in numbers]

    def clean_billing_days(self):
        return self._ints("billing_days", 1, 31)

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "legal_entity_id": data["legal_entity"].pk if data.get("legal_entity") else None,
            "currency": data.get("currency") or None,
            "account_ids": data.get("accounts") or None,
            "billing_days": data.get("billing_days") or None,
        }


class RunForm(RunFiltersMixin):
    target_date = forms.DateField(label=_("Target date"), widget=DATE, help_text=_("Bill every period due on or before this day."))
    invoice_date = forms.DateField(label=_("Invoice date"), widget=DATE, required=False, help_text=_("Blank: the target date."))
    auto_post = forms.BooleanField(label=_("Post the invoices (otherwise leave drafts to review)"), required=False)
    send_documents = forms.BooleanField(label=_("Email the PDFs to the billing contacts after posting"), required=False, initial=True)
    field_order = ["target_date", "invoice_date", "auto_post", "send_documents", "legal_entity", "currency", "accounts", "billing_days"]


class PreviewForm(RunFiltersMixin):
    target_date = forms.DateField(label=_("Target date"), widget=DATE)
    field_order = ["target_date", "legal_entity", "currency", "accounts", "billing_days"]


class ScheduleForm(RunFiltersMixin, forms.ModelForm):
    class Meta:
        model = InvoiceSchedule
        fields = ["name", "frequency", "run_date", "weekday", "day_of_month", "target_offset_days", "invoice_offset_days", "auto_post", "active"]
        widgets = {"run_date": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        filters = (self.instance.filters or {}) if self.instance and self.instance.pk else {}
        if filters and not self.is_bound:
            self.initial.update({
                "legal_entity": filters.get("legal_entity_id"), "currency": filters.get("currency", ""),
                "accounts": ", ".join(
                    Account.objects.filter(pk__in=filters.get("account_ids", [])).order_by("number").values_list("number", flat=True)
                ),
                "billing_days": ", ".join(str(d) for d in filters.get("billing_days", [])),
            })

    def data_for_service(self) -> dict:
        data = {f: self.cleaned_data[f] for f in self.Meta.fields}
        data["filters"] = {k: v for k, v in self.filters().items() if v}
        return data


class WhyForm(forms.Form):
    subscription = forms.IntegerField(label=_("Subscription id"), required=False, min_value=1)
    entry = forms.IntegerField(label=_("Schedule entry id"), required=False, min_value=1)


class UsageUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("Columns: subscription (or account and product), quantity, timestamp, idempotency_key."))
