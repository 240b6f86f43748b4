from django import forms
from django.utils.translation import gettext_lazy as _

from billing_site.events import EVENT_TYPES


class EndpointForm(forms.Form):
    url = forms.CharField(label=_("URL"), max_length=500, help_text=_("http:// or https:// address that receives the POSTs."))
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Event types"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(t, t) for t in EVENT_TYPES], help_text=_("None ticked: every event type."),
    )
