"""REST API of the books: the same services and selectors as the pages.

/api/v1/finance-periods/                 list, read; POST {id}/close/, {id}/reopen/ {reason} (Admin); GET {id}/trial-balance/
/api/v1/chart-accounts/                  list, read, PATCH {code, name}
/api/v1/journal-entries/                 read, with lines (filters: legal_entity, period, kind, invoice, credit_note); POST {id}/reverse/ {reason?}
/api/v1/revenue-schedule/                read-only schedule rows (filters: customer, invoice_line, credit_note_line, currency)
/api/v1/accounting/fec/?legal_entity=&year=        the FEC file, streamed
/api/v1/accounting/journal.csv?legal_entity=&year= the journal as CSV, streamed
/api/v1/accounting/revenue/?currency=&year=        recognized vs deferred, roll-forward, waterfall, MRR/ARR
"""

import datetime as dt

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounting import selectors, services
from accounting.exports import fec_response
from accounting.models import ChartAccount, FinancePeriod, JournalEntry, JournalLine, RevenueLine
from billing_site import clock
from billing_site.api import RecurViewSet
from billing_site.csv_export import csv_response
from billing_site.errors import ValidationFailed
from billing_site.roles import FINANCE_ADMIN
from catalog.models import LegalEntity


class FinancePeriodSerializer(serializers.ModelSerializer):
    class Meta:
        model = FinancePeriod
        fields = ["id", "legal_entity", "name", "start_date", "end_date", "status", "closed_at", "closed_by"]


class ChartAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChartAccount
        fields = ["id", "legal_entity", "code", "name", "role"]
        read_only_fields = ["id", "legal_entity", "role"]


class JournalLineSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="ledger_account.code", read_only=True)

    class Meta:
        model = JournalLine
        fields = ["id", "account", "customer", "label", "debit", "credit"]


class JournalEntrySerializer(serializers.ModelSerializer):
    lines = JournalLineSerializer(many=True, read_only=True)

    class Meta:
        model = JournalEntry
        fields = ["id", "legal_entity", "period", "journal", "kind", "entry_date", "piece_ref", "piece_date", "label", "currency",
                  "invoice", "credit_note", "payment", "refund", "reverses", "created_at", "lines"]


class RevenueLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = RevenueLine
        fields = ["id", "legal_entity", "customer", "product", "invoice_line", "credit_note_line", "kind", "rule", "currency",
                  "billed_date", "period_start", "period_end", "amount", "recognized_period"]


class ReverseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ReopenInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class TrialBalanceRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    opening = serializers.DecimalField(max_digits=18, decimal_places=6)
    debit = serializers.DecimalField(max_digits=18, decimal_places=6)
    credit = serializers.DecimalField(max_digits=18, decimal_places=6)
    closing = serializers.DecimalField(max_digits=18, decimal_places=6)


class FinancePeriodViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Finance periods; close (Finance) and reopen (Admin only, with a reason)."""

    queryset = FinancePeriod.objects.order_by("legal_entity", "start_date")
    serializer_class = FinancePeriodSerializer
    filterset_fields = ["legal_entity", "status"]
    read_roles = write_roles = FINANCE_ADMIN

    @extend_schema(request=None, responses=FinancePeriodSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None, *args, **kwargs):
        period = services.period_close(period=get_object_or_404(FinancePeriod, pk=pk), actor=request.user, today=clock.today())
        return Response(FinancePeriodSerializer(period).data)

    @extend_schema(request=ReopenInput, responses=FinancePeriodSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None, *args, **kwargs):
        serializer = ReopenInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        period = services.period_reopen(period=get_object_or_404(FinancePeriod, pk=pk), actor=request.user,
                                        reason=serializer.validated_data["reason"])
        return Response(FinancePeriodSerializer(period).data)

    @extend_schema(responses=TrialBalanceRowSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="trial-balance")
    def trial_balance(self, request, pk=None, *args, **kwargs):
        tb = selectors.trial_balance(period=get_object_or_404(FinancePeriod, pk=pk))
        return Response(TrialBalanceRowSerializer(tb["rows"], many=True).data)


class ChartAccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, RecurViewSet):
    """The chart of accounts: numbers and names are editable; roles are fixed."""

    queryset = ChartAccount.objects.order_by("legal_entity", "code")
    serializer_class = ChartAccountSerializer
    filterset_fields = ["legal_entity", "role"]
    read_roles = write_roles = FINANCE_ADMIN
    http_method_names = ["get", "patch", "head", "options"]

    def perform_update(self, serializer):
        data = {k: v for k, v in serializer.validated_data.items() if k in ("code", "name")}
        serializer.instance = services.chart_account_update(account=serializer.instance, data=data, actor=self.request.user)


class JournalEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """The journal: entries with their lines, never edited."""

    queryset = JournalEntry.objects.prefetch_related("lines__ledger_account").order_by("entry_date", "id")
    serializer_class = JournalEntrySerializer
    filterset_fields = ["legal_entity", "period", "kind", "invoice", "credit_note", "payment", "refund"]
    read_roles = write_roles = FINANCE_ADMIN

    @extend_schema(request=ReverseInput, responses=JournalEntrySerializer)
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None, *args, **kwargs):
        """Post the mirror entry in the open period (entries are never edited)."""
        serializer = ReverseInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        mirror = services.journal_entry_reverse(entry=get_object_or_404(JournalEntry, pk=pk), actor=request.user,
                                                today=clock.today(), reason=serializer.validated_data.get("reason", ""))
        return Response(JournalEntrySerializer(mirror).data, status=201)


class RevenueLineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Revenue schedule rows of posted invoice and credit note lines."""

    queryset = RevenueLine.objects.order_by("line_key", "period_start")
    serializer_class = RevenueLineSerializer
    filterset_fields = ["customer", "invoice_line", "credit_note_line", "currency", "legal_entity"]
    read_roles = write_roles = FINANCE_ADMIN


EXPORT_PARAMS = [
    OpenApiParameter("legal_entity", OpenApiTypes.INT, required=True),
    OpenApiParameter("year", OpenApiTypes.INT, required=True),
]


def _export_args(request):
    errors = {}
    try:
        entity = LegalEntity.objects.get(pk=int(request.query_params.get("legal_entity", "")))
    except (ValueError, LegalEntity.DoesNotExist):
        entity = None
        errors["legal_entity"] = ["Give the id of a legal entity."]
    try:
        year = int(request.query_params.get("year", ""))
        if not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        errors["year"] = ["Give a year between 2000 and 2100."]
    if errors:
        raise ValidationFailed(fields=errors)
    return entity, dt.date(year, 1, 1), dt.date(year + 1, 1, 1)


class FecView(APIView):
    """The FEC of one legal entity and fiscal year (tab-separated text, streamed)."""

    read_roles = write_roles = FINANCE_ADMIN

    @extend_schema(parameters=EXPORT_PARAMS, responses={(200, "text/plain"): OpenApiTypes.STR})
    def get(self, request):
        entity, start, end = _export_args(request)
        return fec_response(legal_entity=entity, start=start, end=end)


class JournalCsvView(APIView):
    """The journal of one legal entity and fiscal year as CSV (streamed)."""

    read_roles = write_roles = FINANCE_ADMIN

    @extend_schema(parameters=EXPORT_PARAMS, responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        entity, start, end = _export_args(request)
        return csv_response(f"journal-{start.year}.csv", selectors.JOURNAL_CSV_COLUMNS,
                            selectors.journal_rows(legal_entity=entity, start=start, end=end))


class RevenueReportView(APIView):
    """Recognized vs deferred by month with the roll-forward, the waterfall and MRR/ARR with movements."""

    read_roles = write_roles = FINANCE_ADMIN

    @extend_schema(
        parameters=[OpenApiParameter("currency", OpenApiTypes.STR), OpenApiParameter("year", OpenApiTypes.INT)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        currency = (request.query_params.get("currency") or "EUR").upper()
        try:
            year = int(request.query_params.get("year") or clock.today().year)
            if not 2000 <= year <= 2100:
                raise ValueError
        except ValueError:
            raise ValidationFailed(fields={"year": ["Give a year between 2000 and 2100."]}) from None
        start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
        fall = selectors.waterfall(currency=currency, start=start, end=end)
        return Response({
            "currency": currency,
            "months": selectors.revenue_by_month(currency=currency, start=start, end=end),
            "waterfall": {"months": fall["months"], "rows": fall["rows"]},
            "mrr": selectors.mrr_by_month(currency=currency, start=start, end=end),
            "mrr_by_product": selectors.mrr_breakdown(currency=currency, start=start, end=end, by="product"),
            "mrr_by_account": selectors.mrr_breakdown(currency=currency, start=start, end=end, by="account"),
        })


def register(router) -> None:
    router.register("finance-periods", FinancePeriodViewSet, basename="finance-period")
    router.register("chart-accounts", ChartAccountViewSet, basename="chart-account")
    router.register("journal-entries", JournalEntryViewSet, basename="journal-entry")
    router.register("revenue-schedule", RevenueLineViewSet, basename="revenue-line")


def _urls():
    from django.urls import path

    return [
        path("accounting/fec/", FecView.as_view(), name="accounting-fec"),
        path("accounting/journal.csv", JournalCsvView.as_view(), name="accounting-journal"),
        path("accounting/revenue/", RevenueReportView.as_view(), name="accounting-revenue"),
    ]


urlpatterns = _urls()
