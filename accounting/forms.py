"""Forms parse and validate; the services write."""

import datetime as dt

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounting.models import ChartAccount
from catalog.models import LegalEntity

MIN_YEAR, MAX_YEAR = 2000, 2100


class EntityForm(forms.Form):
    legal_entity = forms.ModelChoiceField(label=_("Legal entity"), queryset=LegalEntity.objects.all(), required=False)


class ExportForm(forms.Form):
    legal_entity = forms.ModelChoiceField(label=_("Legal entity"), queryset=LegalEntity.objects.all())
    year = forms.IntegerField(label=_("Fiscal year"), min_value=MIN_YEAR, max_value=MAX_YEAR)


class ReportForm(forms.Form):
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    year = forms.IntegerField(label=_("Year"), min_value=MIN_YEAR, max_value=MAX_YEAR, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in settings.CURRENCIES]

    def values(self, today: dt.date) -> tuple[str, int]:
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("currency") or settings.DEFAULT_CURRENCY, data.get("year") or today.year


class ChartAccountForm(forms.ModelForm):
    class Meta:
        model = ChartAccount
        fields = ["code", "name"]


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("Why reopen it?"), max_length=300)


class ReverseForm(forms.Form):
    reason = forms.CharField(label=_("Why reverse it?"), max_length=200,
                             help_text=_("Becomes the reversing entry's label and is kept in the audit log."))

    def clean_reason(self):
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise forms.ValidationError(_("Give the reason for the reversal."))
        return reason
