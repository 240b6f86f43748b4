import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from payments.models import Payment, PaymentMethodKind


class PaymentFilter(django_filters.FilterSet):
    """The payment list's filters, shared by the page, its CSV export and the API."""

    q = django_filters.CharFilter(method="search", label=_("Search"))
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account"))
    method = django_filters.ChoiceFilter(choices=PaymentMethodKind.choices, label=_("Method"))
    source = django_filters.ChoiceFilter(choices=Payment.Source.choices, label=_("Source"))
    currency = django_filters.CharFilter(label=_("Currency"))
    unapplied = django_filters.BooleanFilter(method="only_unapplied", label=_("With unapplied amount"))
    received_from = django_filters.DateFilter(field_name="received_date", lookup_expr="gte", label=_("Received from"))
    received_to = django_filters.DateFilter(field_name="received_date", lookup_expr="lte", label=_("Received to"))

    class Meta:
        model = Payment
        fields = ["q", "account", "method", "source", "currency", "unapplied", "received_from", "received_to"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(reference__icontains=value) | Q(account__name__icontains=value) | Q(account__number__icontains=value)
            | Q(allocations__invoice__number__icontains=value)
        ).distinct()

    def only_unapplied(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(unapplied_amount__gt=0) if value else queryset.filter(unapplied_amount=0)
