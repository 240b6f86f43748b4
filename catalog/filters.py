import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Product, ProductFamily

SORTS = {
    "sku": "sku", "name": "name", "family": "family__name", "charge_type": "charge_type",
    "billing_frequency": "billing_frequency", "updated": "updated_at",
}


class ProductFilter(django_filters.FilterSet):
    """The catalog list's filters, shared by the page, its CSV export and the API."""

    q = django_filters.CharFilter(method="search", label=_("Search"))
    family = django_filters.ModelChoiceFilter(queryset=ProductFamily.objects.all(), label=_("Family"))
    charge_type = django_filters.ChoiceFilter(choices=Product.ChargeType.choices, label=_("Charge type"), empty_label="—")
    billing_type = django_filters.ChoiceFilter(choices=Product.BillingType.choices, label=_("Billing type"), empty_label="—")
    active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Product
        fields = ["q", "family", "charge_type", "billing_type", "active"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(sku__icontains=value) | Q(name__icontains=value) | Q(description__icontains=value))


def sort_products(queryset, sort: str):
    field = SORTS.get(sort.lstrip("-"), "name")
    return queryset.order_by(f"-{field}" if sort.startswith("-") else field, "id")
