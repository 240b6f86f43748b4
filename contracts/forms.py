"""Contract forms parse and validate input; the services write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from billing_site.forms import DateInput
from catalog.models import PriceBook, Product
from contracts.models import AmendmentType, Order, Subscription
from customers.models import Account


class OrderForm(forms.ModelForm):
    class Meta:
        model = Order
        fields = [
            "account", "price_book", "start_date", "term_months", "payment_terms_days", "evergreen", "auto_renew",
            "renewal_term_months", "renewal_pricing", "uplift_percent", "notes",
        ]
        widgets = {"start_date": DateInput(), "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.exclude(status=Account.Status.CLOSED).order_by("name")
        self.fields["price_book"].queryset = PriceBook.objects.filter(active=True)
        self.fields["payment_terms_days"].required = False
        self.fields["payment_terms_days"].help_text = _("Blank: the account's payment terms.")


class OrderProductForm(forms.Form):
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.none())
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=18, decimal_places=6, min_value=0)
    discount_percent = forms.DecimalField(label=_("Discount (%)"), max_digits=9, decimal_places=6, required=False,
                                          min_value=0, max_value=100)
    start_date = forms.DateField(label=_("Start date"), required=False, widget=DateInput(),
                                 help_text=_("Blank: the order's start."))
    end_date = forms.DateField(label=_("End date (excluded)"), required=False, widget=DateInput(),
                               help_text=_("Blank: co-terminated with the contract."))

    def __init__(self, *args, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = Product.objects.filter(active=True)
        if order is not None:
            qs = qs.filter(entries__price_book=order.price_book, entries__active=True)
        self.fields["product"].queryset = qs.distinct().order_by("name")


class AmendmentForm(forms.Form):
    type = forms.ChoiceField(label=_("Change"), choices=AmendmentType.choices)
    effective_date = forms.DateField(label=_("Effective date"), widget=DateInput(),
                                     help_text=_("The first day the change applies; it runs to the contract's end."))
    subscription = forms.ModelChoiceField(label=_("Subscription"), queryset=Subscription.objects.none(), required=False)
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=18, decimal_places=6, required=False,
                                  help_text=_("Units to add or remove, or the quantity of the added product."))
    unit_price = forms.DecimalField(label=_("New unit price"), max_digits=18, decimal_places=6, required=False,
                                    help_text=_("Change price; optional for an added product (blank: price book)."))
    product = forms.ModelChoiceField(label=_("Product to add"), queryset=Product.objects.none(), required=False)

    def __init__(self, *args, contract=None, **kwargs):
        super().__init__(*args, **kwargs)
        if contract is not None:
            self.fields["subscription"].queryset = contract.subscriptions.filter(
                status=Subscription.Status.ACTIVE
            ).select_related("product").order_by("id")
            self.fields["product"].queryset = Product.objects.filter(
                active=True, entries__price_book=contract.price_book, entries__active=True
            ).distinct().order_by("name")
        self.fields["subscription"].label_from_instance = lambda s: f"{s.product.name} × {s.quantity.normalize():f} @ {s.unit_price.normalize():f}"
