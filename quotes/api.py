"""The quotes API: quotes and their lines, transitions, the PDF, and an account's credit summary.

Same services as the pages, so the same rules: lines change only on drafts, approval is computed on
submit and only finance approves. Approving has its own endpoints with finance-only roles.
"""

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site import clock
from billing_site.api import IdempotentMixin, RecurViewSet, SummaryListMixin
from billing_site.api_fields import DecimalValueField
from billing_site.errors import NotFound
from billing_site.money import sum_money
from billing_site.roles import ALL, FINANCE_ADMIN
from catalog.models import PriceBook
from customers.models import Account
from payments.selectors import credit_summary
from quotes import services
from quotes.models import Quote, QuoteLine
from quotes.selectors import QuoteFilter, approval_reason_messages, quote_list

MONEY_FIELDS = ("one_time_total", "mrr", "arr", "total_contract_value", "tax_estimate")


class QuoteLineSerializer(serializers.ModelSerializer):
    product_sku = serializers.CharField(source="product.sku", read_only=True)
    charge_type = serializers.CharField(read_only=True)
    multiplier = serializers.SerializerMethodField()
    quantity = DecimalValueField(max_digits=18, decimal_places=6, coerce_to_string=True)
    discount_percent = DecimalValueField(max_digits=9, decimal_places=6, required=False, allow_null=True)
    discount_amount = DecimalValueField(max_digits=18, decimal_places=6, required=False, allow_null=True)
    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False, help_text="First day not served (half-open).")

    class Meta:
        model = QuoteLine
        fields = [
            "id", "quote", "position", "product", "product_sku", "charge_type", "quantity", "list_unit_price",
            "discount_percent", "discount_amount", "net_unit_price", "effective_discount_percent", "price_term_months",
            "start_date", "end_date", "multiplier", "line_total", "tax_rate_percent", "tax_label", "tax_amount",
            "pricing_snapshot",
        ]
        read_only_fields = [
            "id", "position", "list_unit_price", "net_unit_price", "effective_discount_percent", "price_term_months",
            "line_total", "tax_rate_percent", "tax_label", "tax_amount", "pricing_snapshot",
        ]

    def get_multiplier(self, line) -> str:
        return f"{line.prorate_numerator}/{line.prorate_denominator}"

    def to_representation(self, instance):
        data = super().to_representation(instance)
        currency = instance.quote.currency
        for name in ("line_total", "tax_amount"):
            data[name] = str(sum_money([getattr(instance, name)], currency))
        return data


class QuoteLineUpdateSerializer(QuoteLineSerializer):
    quantity = DecimalValueField(max_digits=18, decimal_places=6, required=False)

    class Meta(QuoteLineSerializer.Meta):
        read_only_fields = [*QuoteLineSerializer.Meta.read_only_fields, "quote", "product"]


class QuoteSerializer(serializers.ModelSerializer):
    lines = QuoteLineSerializer(many=True, read_only=True)
    end_date = serializers.DateField(read_only=True)
    grand_total = serializers.SerializerMethodField()
    approval_reason_messages = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()
    price_book = serializers.PrimaryKeyRelatedField(queryset=PriceBook.objects.all(), required=False)
    start_date = serializers.DateField(required=False)
    expiration_date = serializers.DateField(required=False)
    payment_terms_days = serializers.IntegerField(required=False, min_value=0, max_value=365)
    quote_discount_percent = DecimalValueField(max_digits=5, decimal_places=2, required=False)

    class Meta:
        model = Quote
        fields = [
            "id", "number", "version", "account", "price_book", "legal_entity", "currency", "status", "start_date",
            "end_date", "term_months", "expiration_date", "payment_terms_days", "quote_discount_percent", "notes",
            *MONEY_FIELDS, "grand_total", "approval_required", "approval_reasons", "approval_reason_messages",
            "approval_comment", "approved_by", "approved_at", "submitted_at", "presented_at", "decided_at",
            "decision_comment", "cloned_from", "pdf_url", "created_by", "created_at", "updated_at", "lines",
        ]
        read_only_fields = [
            "id", "number", "version", "legal_entity", "currency", "status", *MONEY_FIELDS, "approval_required",
            "approval_reasons", "approval_comment", "approved_by", "approved_at", "submitted_at", "presented_at",
            "decided_at", "decision_comment", "cloned_from", "created_by", "created_at", "updated_at",
        ]

    def get_grand_total(self, quote) -> str:
        return str(sum_money([quote.total_contract_value, quote.tax_estimate], quote.currency))

    def get_approval_reason_messages(self, quote) -> list[str]:
        return approval_reason_messages(quote.approval_reasons, quote.currency)

    def get_pdf_url(self, quote) -> str | None:
        if not quote.pdf:
            return None
        request = self.context.get("request")
        url = f"/api/v1/quotes/{quote.pk}/pdf/"
        return request.build_absolute_uri(url) if request else url

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in MONEY_FIELDS:
            data[name] = str(sum_money([getattr(instance, name)], instance.currency))
        return data


class QuoteUpdateSerializer(QuoteSerializer):
    class Meta(QuoteSerializer.Meta):
        read_only_fields = [*QuoteSerializer.Meta.read_only_fields, "account"]


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class QuoteViewSet(SummaryListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Quotes: list (filters `q`, `status`, `account`, `mine`, `open`), read, create, edit and delete drafts,
    and the transitions. Approving is at `/quotes/{id}/approve/` and `/quotes/{id}/reject-approval/` (finance)."""

    queryset = Quote.objects.select_related("account", "price_book").prefetch_related("lines__product", "lines__quote")
    serializer_class = QuoteSerializer
    filterset_class = QuoteFilter
    ordering_fields = ["created_at", "expiration_date", "total_contract_value", "number"]
    read_roles = write_roles = ALL
    list_expandable = {"lines": ("lines__product", "lines__quote")}

    def get_queryset(self):
        if self.action == "list":
            _filterset, qs = quote_list(params={}, request=self.request)
            return self.with_expansions(qs)
        return super().get_queryset()

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return QuoteUpdateSerializer
        if self.action in ("reject", "approve"):
            return CommentSerializer
        return QuoteSerializer

    def _respond(self, quote, code=status.HTTP_200_OK):
        quote = self.get_queryset().get(pk=quote.pk)
        return Response(QuoteSerializer(quote, context=self.get_serializer_context()).data, status=code)

    @extend_schema(examples=[OpenApiExample("A 12-month quote", request_only=True, value={
        "account": 7, "price_book": 1, "start_date": "2026-12-01", "term_months": 12, "expiration_date": "2026-12-31"})])
    def create(self, request, *args, **kwargs):
        serializer = QuoteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k != "lines"}
        quote = services.quote_create(actor=request.user, today=clock.today(), **data)
        return self._respond(quote, status.HTTP_201_CREATED)

    def update(self, request, *args, pk=None, partial=False, **kwargs):
        quote = get_object_or_404(Quote, pk=pk)
        serializer = QuoteUpdateSerializer(quote, data=request.data, partial=partial, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        quote = services.quote_update(quote=quote, actor=request.user, data=dict(serializer.validated_data), today=clock.today())
        return self._respond(quote)

    def partial_update(self, request, *args, pk=None, **kwargs):
        return self.update(request, pk=pk, partial=True)

    def destroy(self, request, *args, pk=None, **kwargs):
        quote = get_object_or_404(Quote, pk=pk)
        services.quote_delete(quote=quote, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=QuoteLineSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def lines(self, request, *args, pk=None, **kwargs):
        """The quote's lines."""
        quote = get_object_or_404(Quote, pk=pk)
        lines = quote.lines.select_related("product", "quote").order_by("position", "id")
        return Response(QuoteLineSerializer(lines, many=True).data)

    @action(detail=True, methods=["post"])
    def submit(self, request, *args, pk=None, **kwargs):
        """Submit a draft: approved at once, or in review when finance must approve it."""
        quote = get_object_or_404(Quote.objects.select_related("account"), pk=pk)
        today = clock.today()
        credit = credit_summary(account=quote.account, today=today, quote=quote)
        quote = services.quote_submit(quote=quote, actor=request.user, open_balance=credit.open_balance, today=today)
        return self._respond(quote)

    @action(detail=True, methods=["post"])
    def revise(self, request, *args, pk=None, **kwargs):
        """Take an approved quote back to draft (it will need approval again)."""
        return self._respond(services.quote_revise(quote=get_object_or_404(Quote, pk=pk), actor=request.user))

    @action(detail=True, methods=["post"])
    def present(self, request, *args, pk=None, **kwargs):
        """Present an approved quote; the PDF is rendered by the worker."""
        quote = services.quote_present(quote=get_object_or_404(Quote, pk=pk), actor=request.user, today=clock.today())
        return self._respond(quote)

    @action(detail=True, methods=["post"])
    def reject(self, request, *args, pk=None, **kwargs):
        """Record the customer's rejection, with an optional `comment`."""
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quote = services.quote_reject(
            quote=get_object_or_404(Quote, pk=pk), actor=request.user, comment=serializer.validated_data["comment"]
        )
        return self._respond(quote)

    @action(detail=True, methods=["post"])
    def clone(self, request, *args, pk=None, **kwargs):
        """A new draft version with the same lines."""
        quote = services.quote_clone(quote=get_object_or_404(Quote, pk=pk), actor=request.user, today=clock.today())
        return self._respond(quote, status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def pdf(self, request, *args, pk=None, **kwargs):
        """The quote's PDF (available once the worker rendered it after presentation)."""
        quote = get_object_or_404(Quote, pk=pk)
        if not quote.pdf:
            raise NotFound(_("This quote has no PDF yet: it is rendered when the quote is presented."))
        return FileResponse(
            quote.pdf.open("rb"), as_attachment=True, filename=f"{quote.number}-v{quote.version}.pdf",
            content_type="application/pdf",
        )


class QuoteLineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Quote lines (filter `?quote=<id>`): add, change and remove them on draft quotes."""

    queryset = QuoteLine.objects.select_related("product", "quote")
    serializer_class = QuoteLineSerializer
    filterset_fields = ["quote", "product"]
    read_roles = write_roles = ALL

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return QuoteLineUpdateSerializer
        return QuoteLineSerializer

    def create(self, request, *args, **kwargs):
        serializer = QuoteLineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        line = services.quote_line_add(quote=data.pop("quote"), actor=request.user, product=data.pop("product"), **data)
        return Response(QuoteLineSerializer(self.get_queryset().get(pk=line.pk)).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, pk=None, partial=False, **kwargs):
        line = get_object_or_404(QuoteLine, pk=pk)
        serializer = QuoteLineUpdateSerializer(line, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        line = services.quote_line_update(line=line, actor=request.user, data=dict(serializer.validated_data))
        return Response(QuoteLineSerializer(self.get_queryset().get(pk=line.pk)).data)

    def partial_update(self, request, *args, pk=None, **kwargs):
        return self.update(request, pk=pk, partial=True)

    def destroy(self, request, *args, pk=None, **kwargs):
        services.quote_line_remove(line=get_object_or_404(QuoteLine, pk=pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _QuoteApprovalView(IdempotentMixin, APIView):
    """Finance only: the roles are checked before the quote is looked up."""

    read_roles = write_roles = FINANCE_ADMIN
    serializer_class = CommentSerializer

    def run(self, quote, actor, comment):
        raise NotImplementedError

    def post(self, request, *args, pk=None, **kwargs):
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quote = self.run(get_object_or_404(Quote, pk=pk), request.user, serializer.validated_data["comment"])
        quote = QuoteViewSet.queryset.get(pk=quote.pk)
        return Response(QuoteSerializer(quote, context={"request": request}).data)


class QuoteApproveView(_QuoteApprovalView):
    """Approve a quote in review (finance), with an optional `comment`."""

    def run(self, quote, actor, comment):
        return services.quote_approve(quote=quote, actor=actor, comment=comment)


class QuoteRejectApprovalView(_QuoteApprovalView):
    """Send a quote in review back to draft (finance); `comment` is required."""

    def run(self, quote, actor, comment):
        return services.quote_reject_approval(quote=quote, actor=actor, comment=comment)


class CreditWarningSerializer(serializers.Serializer):
    level = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class CreditSummarySerializer(serializers.Serializer):
    """The credit picture (amounts as strings in the account's currency)."""

    account = serializers.IntegerField()
    currency = serializers.CharField()
    open_balance = serializers.CharField()
    overdue_amount = serializers.CharField()
    oldest_overdue_days = serializers.IntegerField(allow_null=True)
    aging = serializers.DictField(child=serializers.CharField(), help_text="current, d1_30, d31_60, d61_90, d90_plus")
    credit_sales_90 = serializers.CharField()
    dso_90 = serializers.CharField(allow_null=True)
    credit_limit = serializers.CharField(allow_null=True)
    quote_amount = serializers.CharField()
    remaining_after_quote = serializers.CharField(allow_null=True)
    over_limit = serializers.BooleanField()
    unapplied_credits = serializers.CharField()
    credit_hold = serializers.BooleanField()
    warnings = CreditWarningSerializer(many=True)


class AccountCreditSummaryView(APIView):
    """An account's credit picture: open balance, overdue, aging, DSO, limit, unapplied credits, hold.
    With `?quote=<id>`, what remains after that quote's total with tax."""

    read_roles = write_roles = ALL
    serializer_class = CreditSummarySerializer

    @extend_schema(
        responses=CreditSummarySerializer,
        parameters=[OpenApiParameter("quote", int, description="A quote of this account: what remains after it.")],
    )
    def get(self, request, *args, pk=None, **kwargs):
        account = get_object_or_404(Account, pk=pk)
        quote = None
        if request.query_params.get("quote", "").isdigit():
            quote = get_object_or_404(Quote, pk=request.query_params["quote"], account=account)
        summary = credit_summary(account=account, today=clock.today(), quote=quote)
        return Response({"account": account.pk, **summary.as_dict()})


urlpatterns = [
    path("accounts/<int:pk>/credit-summary/", AccountCreditSummaryView.as_view(), name="account-credit-summary"),
    path("quotes/<int:pk>/approve/", QuoteApproveView.as_view(), name="quote-approve"),
    path("quotes/<int:pk>/reject-approval/", QuoteRejectApprovalView.as_view(), name="quote-reject-approval"),
]


def register(router) -> None:
    router.register("quotes", QuoteViewSet, basename="quote")
    router.register("quote-lines", QuoteLineViewSet, basename="quote-line")
