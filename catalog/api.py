"""Catalog API: CRUD for the catalog through its services, and the price preview.

Every role reads; finance and admins write. Nothing is deleted through the API: products, books,
entries and rules are deactivated instead, because quotes, contracts and invoices point at them.
"""

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site.api import IdempotentMixin, RecurViewSet
from billing_site.api_fields import DecimalValueField
from billing_site.roles import ALL, FINANCE_ADMIN
from catalog import selectors, services
from catalog.filters import SORTS, ProductFilter
from catalog.models import (
    BillingRule,
    LegalEntity,
    PriceBook,
    PriceBookEntry,
    PriceTier,
    Product,
    ProductFamily,
    TaxRate,
    TaxRule,
)

# --- serializers -----------------------------------------------------------------------------------


class LegalEntitySerializer(serializers.ModelSerializer):
    class Meta:
        model = LegalEntity
        fields = ["id", *services.LEGAL_ENTITY_FIELDS]
        read_only_fields = ["id"]


class TaxRateSerializer(serializers.ModelSerializer):
    class Meta:
        model = TaxRate
        fields = ["id", *services.TAX_RATE_FIELDS]
        read_only_fields = ["id"]
        validators = []


class TaxRuleSerializer(serializers.ModelSerializer):
    rates = TaxRateSerializer(many=True, required=False)

    class Meta:
        model = TaxRule
        fields = ["id", *services.TAX_RULE_FIELDS, "rates"]
        read_only_fields = ["id"]


class BillingRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = BillingRule
        fields = ["id", *services.BILLING_RULE_FIELDS]
        read_only_fields = ["id"]


class ProductFamilySerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductFamily
        fields = ["id", *services.FAMILY_FIELDS]
        read_only_fields = ["id"]


class CheckSerializer(serializers.Serializer):
    label = serializers.CharField()
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class ProductSerializer(serializers.ModelSerializer):
    ready = serializers.SerializerMethodField()
    checklist = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", *services.PRODUCT_FIELDS, "ready", "checklist", "created_at", "updated_at"]
        read_only_fields = ["id", "ready", "checklist", "created_at", "updated_at"]

    def _checks(self, product):
        readiness = self.context.get("readiness")
        if readiness is not None and product.pk in readiness:
            return readiness[product.pk]
        return selectors.product_readiness(product)

    def get_ready(self, product) -> bool:
        return all(c.ok for c in self._checks(product))

    @extend_schema(responses=CheckSerializer(many=True))
    def get_checklist(self, product) -> list[dict]:
        return [{"label": str(c.label), "ok": c.ok, "detail": str(c.detail)} for c in self._checks(product)]


class PriceBookSerializer(serializers.ModelSerializer):
    class Meta:
        model = PriceBook
        fields = ["id", *services.PRICE_BOOK_FIELDS]
        read_only_fields = ["id"]
        validators = []  # one standard book per currency: the service moves the flag instead of refusing


class TierSerializer(serializers.Serializer):
    lower = DecimalValueField(max_digits=18, decimal_places=6)
    upper = DecimalValueField(max_digits=18, decimal_places=6, allow_null=True, required=False)
    unit_price = DecimalValueField(max_digits=18, decimal_places=6)
    flat_fee = DecimalValueField(max_digits=18, decimal_places=6, required=False)


class PriceBookEntrySerializer(serializers.Serializer):
    """A price with its tiers. Values are checked by the service (one place, the same messages as the pages)."""

    id = serializers.IntegerField(read_only=True)
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    price_book = serializers.PrimaryKeyRelatedField(queryset=PriceBook.objects.all())
    pricing_model = serializers.CharField(required=False)
    unit_price = DecimalValueField(max_digits=18, decimal_places=6, allow_null=True, required=False)
    currency = serializers.CharField(required=False, max_length=3)
    package_size = DecimalValueField(max_digits=18, decimal_places=6, allow_null=True, required=False)
    free_units = DecimalValueField(max_digits=18, decimal_places=6, required=False)
    active = serializers.BooleanField(required=False)
    tiers = TierSerializer(many=True, required=False)

    def to_representation(self, entry):
        return {
            "id": entry.pk,
            "product": entry.product_id,
            "price_book": entry.price_book_id,
            "pricing_model": entry.pricing_model,
            "unit_price": str(entry.unit_price.amount) if entry.unit_price is not None else None,
            "currency": entry.price_book.currency,
            "package_size": str(entry.package_size) if entry.package_size is not None else None,
            "free_units": str(entry.free_units),
            "active": entry.active,
            "tiers": [
                {
                    "lower": str(t.lower), "upper": str(t.upper) if t.upper is not None else None,
                    "unit_price": str(t.unit_price), "flat_fee": str(t.flat_fee),
                }
                for t in entry.tiers.all()
            ],
        }


class PreviewRequestSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    price_book = serializers.PrimaryKeyRelatedField(queryset=PriceBook.objects.all())
    quantity = DecimalValueField(max_digits=18, decimal_places=6)
    start = serializers.DateField()
    end = serializers.DateField(required=False, allow_null=True)
    billing_day = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=31)


# --- viewsets --------------------------------------------------------------------------------------


class _ServiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """List, read, create and update through the app's services; no delete."""

    read_roles = ALL
    write_roles = FINANCE_ADMIN
    create_service = update_service = None
    instance_kw = ""

    def perform_service_create(self, data):
        return type(self).create_service(actor=self.request.user, data=data)

    def perform_service_update(self, obj, data):
        return type(self).update_service(**{self.instance_kw: obj}, actor=self.request.user, data=data)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = self.perform_service_create(dict(serializer.validated_data))
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        obj = get_object_or_404(self.get_queryset(), pk=kwargs.get("pk"))
        serializer = self.get_serializer(obj, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        obj = self.perform_service_update(obj, dict(serializer.validated_data))
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


class LegalEntityViewSet(_ServiceViewSet):
    """Legal entities: the companies that issue documents, with their number prefixes and bank details."""

    queryset = LegalEntity.objects.all()
    serializer_class = LegalEntitySerializer
    filterset_fields = ["country", "currency", "active"]
    create_service, update_service, instance_kw = services.legal_entity_create, services.legal_entity_update, "legal_entity"


class TaxRuleViewSet(_ServiceViewSet):
    """Tax rules with their rates; `rates` (when sent) replaces all the rule's rates."""

    queryset = TaxRule.objects.prefetch_related("rates")
    serializer_class = TaxRuleSerializer
    filterset_fields = ["taxable"]

    def perform_service_create(self, data):
        rates = [dict(r) for r in data.pop("rates", [])]
        return services.tax_rule_create(actor=self.request.user, data=data, rates=rates)

    def perform_service_update(self, obj, data):
        rates = [dict(r) for r in data.pop("rates")] if "rates" in data else None
        return services.tax_rule_update(tax_rule=obj, actor=self.request.user, data=data, rates=rates)


class BillingRuleViewSet(_ServiceViewSet):
    """Billing rules: period boundary, day count, invoice grouping, issuing legal entity."""

    queryset = BillingRule.objects.select_related("legal_entity")
    serializer_class = BillingRuleSerializer
    filterset_fields = ["period_boundary", "day_count", "legal_entity"]
    create_service, update_service, instance_kw = services.billing_rule_create, services.billing_rule_update, "billing_rule"


class ProductFamilyViewSet(_ServiceViewSet):
    """Product families and the discount above which a quote needs finance approval."""

    queryset = ProductFamily.objects.all()
    serializer_class = ProductFamilySerializer
    create_service, update_service, instance_kw = services.product_family_create, services.product_family_update, "family"


class ProductViewSet(_ServiceViewSet):
    """Products with their launch checklist (`ready`, `checklist`). Search `q`, filters, `ordering`."""

    queryset = Product.objects.select_related("family", "billing_rule", "tax_rule")
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    ordering_fields = list(SORTS.values())
    create_service, update_service, instance_kw = services.product_create, services.product_update, "product"

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {**self.get_serializer_context(), "readiness": selectors.readiness_by_product(page)}
        return self.get_paginated_response(ProductSerializer(page, many=True, context=context).data)


class PriceBookViewSet(_ServiceViewSet):
    """Price books; marking one standard moves the flag from the currency's previous standard book.
    `legal_entity` is the company that sells and invoices through the book (null: each product's billing rule's)."""

    queryset = PriceBook.objects.all()
    serializer_class = PriceBookSerializer
    filterset_fields = ["currency", "active", "is_standard", "legal_entity"]
    create_service, update_service, instance_kw = services.price_book_create, services.price_book_update, "price_book"


class PriceBookEntryViewSet(_ServiceViewSet):
    """Prices of products in books, with their tiers. `tiers` replaces the whole table; the entry and
    its tiers are validated together and nothing is saved when anything is wrong."""

    queryset = PriceBookEntry.objects.select_related("price_book", "product").prefetch_related("tiers").order_by("pk")
    serializer_class = PriceBookEntrySerializer
    filterset_fields = ["product", "price_book", "pricing_model", "active"]

    @staticmethod
    def _split(data: dict):
        product, book = data.pop("product", None), data.pop("price_book", None)
        tiers = [dict(t) for t in data.pop("tiers")] if "tiers" in data else None
        return product, book, tiers

    def perform_service_create(self, data):
        product, book, tiers = self._split(data)
        return services.entry_save(actor=self.request.user, product=product, price_book=book, data=data, tiers=tiers)

    def perform_service_update(self, entry, data):
        product, book, tiers = self._split(data)
        if tiers is None:  # a PATCH without `tiers` keeps the table
            tiers = [
                {"lower": t.lower, "upper": t.upper, "unit_price": t.unit_price, "flat_fee": t.flat_fee}
                for t in PriceTier.objects.filter(entry=entry).order_by("lower")
            ]
        return services.entry_save(
            actor=self.request.user, product=product or entry.product, price_book=book or entry.price_book,
            entry=entry, data=data, tiers=tiers,
        )


class PricingPreviewView(IdempotentMixin, APIView):
    """The price breakdown of a product in a book for a quantity and dates: the same as the product page."""

    read_roles = write_roles = ALL

    @extend_schema(request=PreviewRequestSerializer, responses={200: dict})
    def post(self, request, *args, **kwargs):
        serializer = PreviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        entry = selectors.entry_for(product=data["product"], price_book=data["price_book"])
        if entry is None:
            raise serializers.ValidationError(
                {"price_book": [_no_price_message(data["product"], data["price_book"])]}
            )
        preview = selectors.pricing_preview(
            entry=entry, quantity=data["quantity"], start=data["start"], end=data.get("end"),
            billing_day=data.get("billing_day"),
        )
        return Response(preview.as_dict())


def _no_price_message(product, book) -> str:
    from django.utils.translation import gettext as _

    return _("%(product)s has no active price in %(book)s.") % {"product": product.name, "book": book.name}


def register(router) -> None:
    router.register("legal-entities", LegalEntityViewSet, basename="legal-entity")
    router.register("tax-rules", TaxRuleViewSet, basename="tax-rule")
    router.register("billing-rules", BillingRuleViewSet, basename="billing-rule")
    router.register("product-families", ProductFamilyViewSet, basename="product-family")
    router.register("products", ProductViewSet, basename="product")
    router.register("price-books", PriceBookViewSet, basename="price-book")
    router.register("price-book-entries", PriceBookEntryViewSet, basename="price-book-entry")


urlpatterns = [path("pricing/preview", PricingPreviewView.as_view(), name="pricing-preview")]
