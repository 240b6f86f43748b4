"""Quote forms: they parse what was typed; the services validate the business rules and write."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import PriceBook, Product
from customers.models import Account
from quotes.models import Quote

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class QuoteForm(forms.ModelForm):
    """The quote header. The account is chosen on creation only."""

    account = forms.ModelChoiceField(label=_("Account"), queryset=Account.objects.exclude(status=Account.Status.CLOSED))
    price_book = forms.ModelChoiceField(label=_("Price book"), queryset=PriceBook.objects.filter(active=True))

    class Meta:
        model = Quote
        fields = [
            "account", "price_book", "start_date", "term_months", "expiration_date", "payment_terms_days",
            "quote_discount_percent", "notes",
        ]
        widgets = {"start_date": DATE, "expiration_date": DATE, "notes": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "term_months": _("Recurring prices are multiplied by this term ÷ the product's default term."),
            "quote_discount_percent": _("Applied to every line after its own discount."),
            "payment_terms_days": _("From the account; change it for this quote only if agreed."),
        }

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["account"]


class LineForm(forms.Form):
    """A line's editable values (the builder's row and the add form)."""

    quantity = forms.DecimalField(label=_("Quantity"), max_digits=18, decimal_places=6)
    discount_percent = forms.DecimalField(label=_("Discount (%)"), max_digits=9, decimal_places=6, required=False)
    discount_amount = forms.DecimalField(label=_("Discount per unit"), max_digits=18, decimal_places=6, required=False)
    start_date = forms.DateField(label=_("Start"), required=False, widget=DATE)
    last_day = forms.DateField(
        label=_("Last day"), required=False, widget=DATE, help_text=_("The last day served (included)."),
    )

    def service_data(self) -> dict:
        """The service's fields: service periods are half-open, so the end is the day after the last day."""
        data = {k: self.cleaned_data.get(k) for k in ("quantity", "discount_percent", "discount_amount", "start_date")}
        last_day = self.cleaned_data.get("last_day")
        data["end_date"] = last_day + dt.timedelta(days=1) if last_day else None
        return data


class LineAddForm(LineForm):
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.filter(active=True))
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=18, decimal_places=6, initial=1)


class CommentForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
