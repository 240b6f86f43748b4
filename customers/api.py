from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from billing_site.api import RecurViewSet
from billing_site.api_fields import DecimalValueField
from billing_site.roles import ALL
from customers import services
from customers.filters import SORTS, AccountFilter
from customers.models import Account, Contact
from customers.services import ACCOUNT_FIELDS, CONTACT_FIELDS


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "account", "first_name", "last_name", "email", "phone", "title", "is_billing_contact"]
        read_only_fields = ["id"]


class AccountSerializer(serializers.ModelSerializer):
    credit_limit_amount = DecimalValueField(max_digits=18, decimal_places=2, min_value=0, required=False)
    contacts = ContactSerializer(many=True, read_only=True)

    class Meta:
        model = Account
        fields = ["id", "number", *ACCOUNT_FIELDS, "contacts", "created_at", "updated_at"]
        read_only_fields = ["id", "number", "contacts", "created_at", "updated_at"]


class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Accounts: list (search `q`, filters, `ordering`), read, create, update. Never deleted: close them."""

    queryset = Account.objects.select_related("sales_owner").prefetch_related("contacts")
    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    ordering_fields = list(SORTS.values())
    read_roles = write_roles = ALL

    @extend_schema(examples=[OpenApiExample("A French account", request_only=True, value={
        "name": "Maison Verte", "country": "FR", "currency": "EUR", "billing_day": 1, "payment_terms_days": 30,
        "billing_emails": "ap@maison-verte.test"})])
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.account_create(actor=request.user, data=serializer.validated_data)
        return Response(self.get_serializer(account).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False, **kwargs):
        account = get_object_or_404(Account, pk=pk)
        serializer = self.get_serializer(account, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        account = services.account_update(account=account, actor=request.user, data=serializer.validated_data)
        return Response(self.get_serializer(account).data)

    def partial_update(self, request, pk=None, **kwargs):
        return self.update(request, pk=pk, partial=True)


class ContactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Contacts of accounts; filter with `?account=<id>`."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    filterset_fields = ["account", "is_billing_contact"]
    read_roles = write_roles = ALL

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        account = data.pop("account")
        contact = services.contact_create(account=account, actor=request.user, data=data)
        return Response(self.get_serializer(contact).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False, **kwargs):
        contact = get_object_or_404(Contact, pk=pk)
        serializer = self.get_serializer(contact, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k in CONTACT_FIELDS}
        contact = services.contact_update(contact=contact, actor=request.user, data=data)
        return Response(self.get_serializer(contact).data)

    def partial_update(self, request, pk=None, **kwargs):
        return self.update(request, pk=pk, partial=True)

    def destroy(self, request, pk=None, **kwargs):
        contact = get_object_or_404(Contact, pk=pk)
        services.contact_delete(contact=contact, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def register(router) -> None:
    router.register("accounts", AccountViewSet, basename="account")
    router.register("contacts", ContactViewSet, basename="contact")
