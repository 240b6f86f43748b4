import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Account

SORTS = {
    "name": "name", "number": "number", "country": "country", "currency": "currency",
    "credit_limit": "credit_limit_amount", "created": "created_at", "status": "status",
}


class AccountFilter(django_filters.FilterSet):
    """The account list's filters, shared by the page, its CSV export and the API."""

    q = django_filters.CharFilter(method="search", label=_("Search"))
    status = django_filters.ChoiceFilter(choices=Account.Status.choices, label=_("Status"))
    currency = django_filters.CharFilter(label=_("Currency"))
    country = django_filters.CharFilter(label=_("Country"))
    credit_hold = django_filters.BooleanFilter(label=_("Credit hold"))
    owner = django_filters.NumberFilter(field_name="sales_owner_id", label=_("Sales owner"))

    class Meta:
        model = Account
        fields = ["q", "status", "currency", "country", "credit_hold", "owner"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(legal_name__icontains=value) | Q(number__icontains=value)
            | Q(tax_id__icontains=value) | Q(city__icontains=value) | Q(billing_emails__icontains=value)
        )


def sort_accounts(queryset, sort: str):
    field = SORTS.get(sort.lstrip("-"), "name")
    return queryset.order_by(f"-{field}" if sort.startswith("-") else field, "id")
