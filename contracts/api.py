"""Contracts API: orders and activation, contracts with subscriptions and schedules, amendments, renewals."""

import datetime as dt

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site import clock
from billing_site.api import IdempotentMixin, RecurViewSet, SummaryListMixin
from billing_site.api_fields import DecimalValueField
from billing_site.money import round_money
from billing_site.roles import ALL, FINANCE_ADMIN
from catalog.models import Product
from contracts import selectors, services
from contracts.models import AmendmentType, Contract, Order, OrderProduct, ScheduleEntry, Subscription
from contracts.scheduling import plain
from contracts.selectors import CONTRACT_SORTS, ORDER_SORTS, ContractFilter, OrderFilter
from contracts.services import AmendmentRequest
from contracts.services.schedule import entry_of


class OrderProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderProduct
        fields = ["id", "product", "quantity", "list_unit_price", "net_unit_price", "price_term_months", "start_date",
                  "end_date", "subscription", "total_amount"]
        read_only_fields = fields


class OrderProductInputSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    quantity = DecimalValueField(max_digits=18, decimal_places=6)
    discount_percent = DecimalValueField(max_digits=9, decimal_places=6, required=False, allow_null=True)
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)


class OrderSerializer(serializers.ModelSerializer):
    products = OrderProductSerializer(many=True, read_only=True)
    contract_number = serializers.CharField(source="contract.number", read_only=True, default=None, allow_null=True)
    amendment_type = serializers.ChoiceField(choices=AmendmentType.choices, allow_blank=True, read_only=True,
                                             help_text="Blank for a new or renewal order.")

    class Meta:
        model = Order
        fields = ["id", "number", "account", "quote", "type", "status", "contract", "contract_number", "price_book",
                  "currency", "start_date", "term_months", "effective_date", "amendment_type", "payment_terms_days",
                  "evergreen", "auto_renew", "renewal_term_months", "renewal_pricing", "uplift_percent", "notes",
                  "products", "created_at", "activated_at"]
        read_only_fields = fields


class OrderCreateSerializer(serializers.ModelSerializer):
    products = OrderProductInputSerializer(many=True, required=False)

    class Meta:
        model = Order
        fields = ["account", "price_book", "start_date", "term_months", "payment_terms_days", "evergreen", "auto_renew",
                  "renewal_term_months", "renewal_pricing", "uplift_percent", "notes", "products"]
        extra_kwargs = {"payment_terms_days": {"required": False, "allow_null": True}}


class ScheduleEntrySerializer(serializers.ModelSerializer):
    factor = serializers.CharField(source="factor_display", read_only=True)
    last_day = serializers.SerializerMethodField()
    explanation = serializers.SerializerMethodField()

    class Meta:
        model = ScheduleEntry
        fields = ["id", "subscription", "kind", "status", "period_start", "period_end", "last_day", "full_start", "full_end",
                  "bill_on", "quantity", "unit_price", "price_term_months", "period_months", "factor_numerator",
                  "factor_denominator", "factor", "amount", "currency", "credits", "source_order", "cancelled_by",
                  "billed_at", "explanation"]
        read_only_fields = fields

    def get_last_day(self, obj) -> dt.date:
        from datetime import timedelta

        return obj.period_end - timedelta(days=1)

    def get_explanation(self, obj) -> str:
        return selectors.entry_explain(entry=obj)


class SubscriptionSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = Subscription
        fields = ["id", "contract", "account", "product", "product_name", "status", "charge_type", "quantity", "unit_price",
                  "price_term_months", "currency", "billing_frequency", "billing_type", "period_boundary", "day_count",
                  "billing_day", "billing_rule", "legal_entity", "tax_rule", "start_date", "end_date", "period_anchor",
                  "scheduled_until"]
        read_only_fields = fields


class SubscriptionDetailSerializer(SubscriptionSerializer):
    schedule = ScheduleEntrySerializer(many=True, read_only=True)

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "schedule"]
        read_only_fields = fields


class ContractSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contract
        fields = ["id", "number", "account", "order", "price_book", "currency", "status", "start_date", "end_date",
                  "term_months", "evergreen", "auto_renew", "renewal_term_months", "renewal_pricing", "uplift_percent",
                  "payment_terms_days", "billing_day", "cancelled_on", "renewed_by", "renewal_quote", "created_at"]
        read_only_fields = fields


class ContractDetailSerializer(ContractSerializer):
    subscriptions = SubscriptionDetailSerializer(many=True, read_only=True)

    class Meta(ContractSerializer.Meta):
        fields = [*ContractSerializer.Meta.fields, "subscriptions"]
        read_only_fields = fields


class AmendmentSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=AmendmentType.choices)
    effective_date = serializers.DateField()
    subscription = serializers.PrimaryKeyRelatedField(queryset=Subscription.objects.all(), required=False, allow_null=True)
    quantity = DecimalValueField(max_digits=18, decimal_places=6, required=False, allow_null=True)
    unit_price = DecimalValueField(max_digits=18, decimal_places=6, required=False, allow_null=True)
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(), required=False, allow_null=True)

    def request(self) -> AmendmentRequest:
        data = self.validated_data
        return AmendmentRequest(
            type=data["type"], effective_date=data["effective_date"], subscription=data.get("subscription"),
            quantity=data.get("quantity"), unit_price=data.get("unit_price"), product=data.get("product"),
        )


def _entry(e, currency: str) -> dict:
    return {
        "kind": e.kind, "period_start": e.period_start, "period_end": e.period_end, "last_day": e.last_day,
        "bill_on": e.bill_on, "quantity": plain(e.quantity), "quantity_display": e.quantity_display, "delta": e.delta,
        "unit_price": plain(e.unit_price), "factor": str(e.factor),
        "amount": None if e.amount is None else str(round_money(e.amount, currency)), "credits": e.credits, "entry": e.id,
    }


def _money(value, currency: str) -> str:
    return str(round_money(value, currency))


def effect_data(effect) -> dict:
    """An applied amendment as the API answers it: the preview's shape, with the entries' ids."""
    items: dict[int, dict] = {}
    currency = effect.order.currency

    def item(row) -> dict:
        if row.subscription_id not in items:
            items[row.subscription_id] = {
                "subscription": row.subscription_id, "label": row.subscription.product.name,
                "cancelled": [], "replacements": [], "credits": [], "charges": [],
            }
        return items[row.subscription_id]

    for key, rows in (("cancelled", effect.cancelled), ("replacements", effect.kept), ("credits", effect.credits),
                      ("charges", effect.charges)):
        for row in rows:
            item(row)[key].append(_entry(entry_of(row), currency))
    new_subscriptions = [s.pk for s in effect.new_subscriptions]
    return {
        "order": OrderSerializer(effect.order).data, "contract": effect.order.contract_id,
        "effective_date": effect.order.effective_date, "amendment_type": effect.order.amendment_type,
        "new_subscription": new_subscriptions[0] if len(new_subscriptions) == 1 else None,
        "new_subscriptions": new_subscriptions, "items": list(items.values()),
        "cancelled_amount": _money(effect.cancelled_amount, currency), "credits_amount": _money(effect.credits_amount, currency),
        "charges_amount": _money(effect.charges_amount, currency), "net_amount": _money(effect.net_amount, currency),
    }


def preview_data(preview) -> dict:
    currency = preview.contract.currency
    return {
        "contract": preview.contract.pk,
        "items": [
            {
                "subscription": getattr(item.subscription, "pk", None), "label": str(item.label),
                "old_quantity": plain(item.old_quantity), "new_quantity": plain(item.new_quantity),
                "cancelled": [_entry(e, currency) for e in item.plan.cancelled],
                "replacements": [_entry(e, currency) for e in item.plan.replacements],
                "credits": [_entry(e, currency) for e in item.plan.credits],
                "charges": [_entry(e, currency) for e in item.plan.charges],
            }
            for item in preview.items
        ],
        "cancelled_amount": _money(preview.cancelled_amount, currency), "credits_amount": _money(preview.credits_amount, currency),
        "charges_amount": _money(preview.charges_amount, currency), "net_amount": _money(preview.net_amount, currency),
    }


class OrderViewSet(SummaryListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Orders: list and read (everyone), create and activate (finance). Activation is idempotent.
    The list leaves out `products` unless `?expand=products`."""

    queryset = Order.objects.select_related("contract")
    list_expandable = {"products": ("products",)}
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    ordering_fields = list(ORDER_SORTS.values())
    read_roles = ALL
    write_roles = FINANCE_ADMIN

    def get_serializer_class(self):
        return OrderCreateSerializer if self.action == "create" else OrderSerializer

    def create(self, request, *args, **kwargs):
        from django.db import transaction

        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        products = data.pop("products", [])
        with transaction.atomic():
            order = services.order_create(actor=request.user, data=data)
            for item in products:
                services.order_product_add(order=order, actor=request.user, **item)
        return Response(OrderSerializer(Order.objects.get(pk=order.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ContractSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request, *args, **kwargs):
        """Activate the order; a second call returns the same contract (200)."""
        order = get_object_or_404(Order, pk=kwargs.get("pk"))
        contract = services.order_activate(order=order, actor=request.user, today=clock.today())
        return Response(ContractSerializer(contract).data, status=status.HTTP_200_OK)


class ContractViewSet(SummaryListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Contracts with their subscriptions and schedules; amendments (preview and apply) and renewal.
    The list leaves out `subscriptions` unless `?expand=subscriptions`."""

    queryset = Contract.objects.select_related("account")
    list_expandable = {"subscriptions": ("subscriptions__product", "subscriptions__schedule")}
    serializer_class = ContractSerializer
    filterset_class = ContractFilter
    ordering_fields = list(CONTRACT_SORTS.values())
    read_roles = ALL
    write_roles = FINANCE_ADMIN

    def get_serializer_class(self):
        if self.action in ("retrieve", "list"):
            return ContractDetailSerializer
        if self.action in ("amend", "amend_preview"):
            return AmendmentSerializer
        return ContractSerializer

    @action(detail=True, methods=["post"], url_path="amendments/preview", url_name="amendment-preview")
    def amend_preview(self, request, *args, **kwargs):
        """Every cancellation, credit and charge the amendment would make; writes nothing."""
        contract = get_object_or_404(Contract, pk=kwargs.get("pk"))
        serializer = AmendmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preview = services.contract_amendment_preview(contract=contract, request=serializer.request(), today=clock.today())
        return Response(preview_data(preview))

    @action(detail=True, methods=["get", "post"], url_path="amendments", url_name="amendments")
    def amend(self, request, *args, **kwargs):
        """GET: the contract's amendments, each with the entries it cancelled, kept and wrote, and totals.
        POST (same input as the preview): apply an amendment; answers with its order and the same effect (201)."""
        contract = get_object_or_404(Contract, pk=kwargs.get("pk"))
        if request.method == "GET":
            effects = selectors.amendment_effects(contract=contract)
            return Response({"count": len(effects), "results": [effect_data(e) for e in effects]})
        serializer = AmendmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.contract_amend(contract=contract, request=serializer.request(), actor=request.user, today=clock.today())
        (effect,) = selectors.amendment_effects(contract=contract, order_ids=[order.pk])
        return Response(effect_data(effect), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: inline_serializer("RenewResult", fields={
        "contract": ContractSerializer(allow_null=True, help_text="The new contract (auto-renewal), else null."),
        "quote": inline_serializer("RenewalQuote", fields={
            "id": serializers.IntegerField(), "number": serializers.CharField(), "version": serializers.IntegerField(),
        }, allow_null=True, help_text="The renewal quote to present (no auto-renewal), else null."),
    })})
    @action(detail=True, methods=["post"])
    def renew(self, request, *args, **kwargs):
        """Renew now: the new contract (auto-renew) or the renewal quote; a second call returns the same."""
        contract = get_object_or_404(Contract, pk=kwargs.get("pk"))
        result = services.contract_renew(contract=contract, actor=request.user, today=clock.today())
        if isinstance(result, Contract):
            return Response({"contract": ContractSerializer(result).data, "quote": None})
        return Response({"contract": None, "quote": {"id": result.pk, "number": result.number, "version": result.version}})


class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Subscriptions; filter with `?contract=`, `?account=`, `?status=`. Retrieve includes the schedule."""

    queryset = Subscription.objects.select_related("product")
    serializer_class = SubscriptionSerializer
    filterset_fields = ["contract", "account", "status", "product"]
    read_roles = ALL
    write_roles = FINANCE_ADMIN

    def get_serializer_class(self):
        return SubscriptionDetailSerializer if self.action == "retrieve" else SubscriptionSerializer


class QuoteAcceptView(IdempotentMixin, APIView):
    """Accept a presented quote: it becomes accepted and its draft order is created with the quote's
    prices copied exactly. Idempotent: accepting again returns the same order (200)."""

    read_roles = write_roles = ALL

    @extend_schema(request=None, responses={201: OrderSerializer, 200: OrderSerializer})
    def post(self, request, *args, pk=None, **kwargs):
        from quotes.models import Quote

        quote = get_object_or_404(Quote, pk=pk)
        existed = Order.objects.filter(quote=quote).exists()
        order = services.order_create_from_quote(quote=quote, actor=request.user)
        return Response(OrderSerializer(order).data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


class DeliverySerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number", read_only=True)
    account = serializers.IntegerField(source="order.account_id", read_only=True)
    product = serializers.CharField(source="product.sku", read_only=True)
    delivered_by = serializers.CharField(source="delivered_by.username", read_only=True, default=None)
    late = serializers.SerializerMethodField()

    class Meta:
        model = OrderProduct
        fields = ["id", "order", "account", "product", "quantity", "delivery_due_date", "delivered_date", "delivered_by",
                  "delivered_at", "late"]
        read_only_fields = fields

    def get_late(self, op) -> bool:
        if op.delivered_date is not None:
            return bool(op.delivered_late)
        return bool(op.delivery_due_date and op.delivery_due_date < clock.today())


class DeliverInputSerializer(serializers.Serializer):
    delivered_date = serializers.DateField(required=False, help_text="Defaults to today (billing time zone).")


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Ordered products that need delivery (`?status=due|late|delivered|all`); finance confirms them."""

    serializer_class = DeliverySerializer
    read_roles = ALL
    write_roles = FINANCE_ADMIN

    def get_queryset(self):
        status_ = self.request.query_params.get("status", "all")
        if status_ not in selectors.DELIVERY_STATUSES:
            status_ = "all"
        return selectors.delivery_list(status=status_, today=clock.today())

    @extend_schema(request=DeliverInputSerializer, responses={200: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def deliver(self, request, *args, **kwargs):
        """Confirm the delivery (once); a one-time product billed on delivery is scheduled that day."""
        op = get_object_or_404(OrderProduct, pk=kwargs.get("pk"))
        data = DeliverInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        op = services.order_product_deliver(order_product=op, actor=request.user,
                                            delivered_date=data.validated_data.get("delivered_date"))
        return Response(DeliverySerializer(op).data, status=status.HTTP_200_OK)


urlpatterns = [path("quotes/<int:pk>/accept/", QuoteAcceptView.as_view(), name="quote-accept")]


def register(router) -> None:
    router.register("orders", OrderViewSet, basename="order")
    router.register("contracts", ContractViewSet, basename="contract")
    router.register("subscriptions", SubscriptionViewSet, basename="subscription")
    router.register("deliveries", DeliveryViewSet, basename="delivery")
