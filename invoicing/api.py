"""Invoicing API: invoices, credit notes, runs, schedules, usage, preview. Same services as the pages."""

import datetime as dt

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site import clock
from billing_site.api import IdempotentMixin, RecurViewSet, SummaryListMixin
from billing_site.api_fields import DecimalValueField
from billing_site.errors import ValidationFailed
from billing_site.money import round_money
from billing_site.roles import ALL, FINANCE_ADMIN
from invoicing import selectors, services
from invoicing.models import (
    BULK_MAX_DOCUMENTS,
    BulkJob,
    CreditNote,
    CreditNoteLine,
    DocumentSend,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    InvoiceRunError,
    InvoiceSchedule,
    UsageRecord,
)
from invoicing.selectors import INVOICE_SORTS, InvoiceFilter
from invoicing.services.delivery import document_pdf_bytes
from invoicing.services.documents import credit_note_unallocated_amount
from invoicing.services.usage import MAX_RECORDS


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = ["id", "position", "source", "schedule_entry", "subscription", "description", "period_start", "period_end",
                  "quantity", "unit_price", "factor_numerator", "factor_denominator", "factor_display", "net_amount",
                  "tax_rate_percent", "tax_label", "tax_amount", "total_amount"]


class InvoiceSerializer(serializers.ModelSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)

    class Meta:
        model = Invoice
        fields = ["id", "number", "status", "account", "legal_entity", "currency", "payment_terms_days", "contract",
                  "invoice_date", "due_date", "target_date", "subtotal_amount", "tax_amount", "total_amount", "snapshot",
                  "open_amount", "payment_status", "run", "rebill_of", "posted_at", "sent_at", "cancelled_at", "lines"]
        read_only_fields = fields


class BulkJobSerializer(serializers.ModelSerializer):
    total = serializers.IntegerField(read_only=True)
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = BulkJob
        fields = ["id", "kind", "document_type", "status", "object_ids", "resend", "run", "total", "position", "percent",
                  "succeeded", "skipped", "failed", "errors", "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class BulkRequestSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=BULK_MAX_DOCUMENTS, required=False)
    run = serializers.IntegerField(required=False, help_text="Post every draft of this invoice run (instead of ids).")
    resend = serializers.BooleanField(default=False, help_text="Send documents already sent once more.")


class SendRequestSerializer(serializers.Serializer):
    resend = serializers.BooleanField(default=False)


class DocumentSendSerializer(serializers.ModelSerializer):
    class Meta:
        model = DocumentSend
        fields = ["id", "account", "invoice", "credit_note", "recipients", "resend", "job", "sent_at", "sent_by"]
        read_only_fields = fields


def _bulk(request, *, kind: str, document_type: str):
    data = BulkRequestSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    run = get_object_or_404(InvoiceRun, pk=data.validated_data["run"]) if data.validated_data.get("run") else None
    job = services.bulk_job_create(kind=kind, document_type=document_type, ids=data.validated_data.get("ids"), run=run,
                                   resend=data.validated_data["resend"], actor=request.user)
    return Response(BulkJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def _send(request, document):
    data = SendRequestSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    sent = services.document_send_now(document=document, actor=request.user, resend=data.validated_data["resend"])
    if sent is None:
        return Response({"sent": False, "detail": _("%(document)s was already sent; send it with resend=true to send it again.")
                         % {"document": document}}, status=status.HTTP_200_OK)
    return Response(DocumentSendSerializer(sent).data, status=status.HTTP_201_CREATED)


NOT_SENT = inline_serializer("DocumentNotSent", {"sent": serializers.BooleanField(), "detail": serializers.CharField()})


class CreditNoteLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditNoteLine
        fields = ["id", "position", "source", "invoice_line", "schedule_entry", "description", "period_start", "period_end",
                  "net_amount", "tax_rate_percent", "tax_amount", "total_amount"]


class CreditNoteSerializer(serializers.ModelSerializer):
    lines = CreditNoteLineSerializer(many=True, read_only=True)
    open_amount = serializers.SerializerMethodField(help_text="What is left to apply or refund (0 for a draft).")

    def get_open_amount(self, note) -> str:
        if note.status != CreditNote.Status.POSTED:
            return str(round_money(0, note.currency))
        return str(round_money(credit_note_unallocated_amount(note.pk), note.currency))

    class Meta:
        model = CreditNote
        fields = ["id", "number", "status", "kind", "account", "invoice", "legal_entity", "currency", "credit_date", "reason",
                  "subtotal_amount", "tax_amount", "total_amount", "open_amount", "posted_at", "lines"]
        read_only_fields = fields


class CreditNoteCreateSerializer(serializers.Serializer):
    invoice = serializers.IntegerField()
    reason = serializers.CharField(max_length=300)
    lines = serializers.DictField(child=DecimalValueField(max_digits=18, decimal_places=6), required=False,
                                  help_text="{invoice_line_id: net amount}; omit to credit everything left.")


class DateSerializer(serializers.Serializer):
    today = serializers.DateField(required=False)


class FiltersSerializer(serializers.Serializer):
    account_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    legal_entity_id = serializers.IntegerField(required=False)
    currency = serializers.CharField(required=False)
    billing_days = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=31), required=False)


class InvoiceRunSerializer(serializers.ModelSerializer):
    filters = FiltersSerializer(required=False)
    progress = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()

    class Meta:
        model = InvoiceRun
        fields = ["id", "status", "target_date", "invoice_date", "filters", "auto_post", "send_documents", "chunk_size",
                  "schedule", "accounts_total", "chunks_total", "created_at", "started_at", "finished_at", "progress", "errors"]
        read_only_fields = ["id", "status", "schedule", "accounts_total", "chunks_total", "created_at", "started_at", "finished_at"]
        extra_kwargs = {"invoice_date": {"required": False}}

    def get_progress(self, run) -> dict:
        progress = selectors.run_progress(run)
        return {k: progress[k] for k in ("percent", "accounts_total", "accounts_done", "accounts_failed", "accounts_skipped", "invoices_count",
                                         "credit_notes_count", "lines_count", "totals", "finished")}

    def get_errors(self, run) -> list:
        return [{"account": e.account_id, "reason": e.message} for e in InvoiceRunError.objects.filter(run=run)[:1000]]


class InvoiceScheduleSerializer(serializers.ModelSerializer):
    filters = FiltersSerializer(required=False)

    class Meta:
        model = InvoiceSchedule
        fields = ["id", "name", "frequency", "run_date", "weekday", "day_of_month", "target_offset_days", "invoice_offset_days",
                  "auto_post", "filters", "active", "next_run_date", "last_run_date"]
        read_only_fields = ["id", "next_run_date", "last_run_date"]


class InvoiceViewSet(SummaryListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Invoices (read); actions: post, cancel-and-rebill, pdf. Posted invoices are never changed or deleted.
    The list leaves out `lines` and `snapshot` unless `?expand=lines,snapshot` asks for them."""

    queryset = Invoice.objects.all()
    list_expandable = {"lines": ("lines",), "snapshot": ()}
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter
    ordering_fields = list(INVOICE_SORTS.values())
    read_roles = ALL
    write_roles = FINANCE_ADMIN

    @action(detail=True, methods=["post"])
    def post(self, request, pk=None, *args, **kwargs):
        invoice = services.invoice_post(invoice=get_object_or_404(Invoice, pk=pk), actor=request.user, today=clock.today())
        return Response(InvoiceSerializer(invoice).data)

    @action(detail=True, methods=["post"], url_path="cancel-and-rebill")
    def cancel_and_rebill(self, request, pk=None, *args, **kwargs):
        note, new = services.invoice_cancel_and_rebill(invoice=get_object_or_404(Invoice, pk=pk), actor=request.user,
                                                       today=clock.today(), reason=str(request.data.get("reason", "")))
        return Response({"credit_note": CreditNoteSerializer(note).data if note else None,
                         "invoices": InvoiceSerializer(new, many=True).data}, status=status.HTTP_201_CREATED)

    @extend_schema(request=BulkRequestSerializer, responses={202: BulkJobSerializer})
    @action(detail=False, methods=["post"], url_path="bulk-post")
    def bulk_post(self, request, *args, **kwargs):
        """Post the chosen drafts (or every draft of `run`) on the workers; follow the returned bulk job."""
        return _bulk(request, kind="post", document_type="invoice")

    @extend_schema(request=BulkRequestSerializer, responses={202: BulkJobSerializer})
    @action(detail=False, methods=["post"], url_path="bulk-send")
    def bulk_send(self, request, *args, **kwargs):
        """Email the chosen posted invoices (again with `resend`) on the workers."""
        return _bulk(request, kind="send", document_type="invoice")

    @extend_schema(request=SendRequestSerializer, responses={201: DocumentSendSerializer, 200: NOT_SENT})
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None, *args, **kwargs):
        """Email this posted invoice now (again with `resend`); the log row, or null when it was already sent."""
        return _send(request, get_object_or_404(Invoice, pk=pk))

    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None, *args, **kwargs):
        invoice = get_object_or_404(Invoice, pk=pk)
        content = invoice.pdf.read() if invoice.pdf else document_pdf_bytes(invoice)
        return HttpResponse(content, content_type="application/pdf")


class CreditNoteViewSet(SummaryListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Credit notes: create (full or chosen line amounts) as a draft, post. Applying one to an invoice or refunding
    it is done on its balance: `/credit-note-balances/{id}/allocate/` and `/refund/` (payments). The list leaves
    out `lines` unless `?expand=lines`."""

    queryset = CreditNote.objects.all()
    list_expandable = {"lines": ("lines",)}
    serializer_class = CreditNoteSerializer
    filterset_fields = ["status", "account", "invoice", "kind"]
    read_roles = ALL
    write_roles = FINANCE_ADMIN

    def get_serializer_class(self):
        return CreditNoteCreateSerializer if self.action == "create" else CreditNoteSerializer

    @extend_schema(request=CreditNoteCreateSerializer, responses={201: CreditNoteSerializer})
    def create(self, request, *args, **kwargs):
        data = CreditNoteCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = get_object_or_404(Invoice, pk=data.validated_data["invoice"])
        note = services.credit_note_create(invoice=invoice, lines=data.validated_data.get("lines"),
                                           reason=data.validated_data["reason"], actor=request.user)
        return Response(CreditNoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def post(self, request, pk=None, *args, **kwargs):
        note = services.credit_note_post(credit_note=get_object_or_404(CreditNote, pk=pk), actor=request.user, today=clock.today())
        return Response(CreditNoteSerializer(note).data)

    @extend_schema(request=SendRequestSerializer, responses={201: DocumentSendSerializer, 200: NOT_SENT})
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None, *args, **kwargs):
        """Email this posted credit note now (again with `resend`)."""
        return _send(request, get_object_or_404(CreditNote, pk=pk))

    @extend_schema(request=BulkRequestSerializer, responses={202: BulkJobSerializer})
    @action(detail=False, methods=["post"], url_path="bulk-send")
    def bulk_send(self, request, *args, **kwargs):
        """Email the chosen posted credit notes on the workers."""
        return _bulk(request, kind="send", document_type="credit_note")


class InvoiceRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Invoice runs: create (starts it on the workers), read progress and per-account errors, cancel, resume."""

    queryset = InvoiceRun.objects.all()
    serializer_class = InvoiceRunSerializer
    filterset_fields = ["status", "target_date"]
    read_roles = write_roles = FINANCE_ADMIN

    @extend_schema(examples=[OpenApiExample("Bill what is due on a date", request_only=True, value={
        "target_date": "2026-12-01", "auto_post": False})])
    def create(self, request, *args, **kwargs):
        data = InvoiceRunSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        run = services.invoice_run_create(
            actor=request.user, target_date=v["target_date"], invoice_date=v.get("invoice_date"), filters=v.get("filters"),
            auto_post=v.get("auto_post", False), send_documents=v.get("send_documents", True), chunk_size=v.get("chunk_size", 500),
        )
        # The run may have moved on already (a worker, or eager tasks): answer with its state as it is now.
        run.refresh_from_db()
        location = reverse("api:invoice-run-detail", kwargs={"pk": run.pk})
        return Response(InvoiceRunSerializer(run).data, status=status.HTTP_201_CREATED, headers={"Location": location})

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None, *args, **kwargs):
        run = services.invoice_run_cancel(run=get_object_or_404(InvoiceRun, pk=pk), actor=request.user)
        return Response(InvoiceRunSerializer(run).data)

    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None, *args, **kwargs):
        run = get_object_or_404(InvoiceRun, pk=pk)
        indexes = services.invoice_run_resume(run=run, actor=request.user)
        return Response({"resumed_chunks": indexes})


class InvoiceScheduleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Invoice schedules: once, daily, weekly or monthly; the beat job starts the due ones."""

    queryset = InvoiceSchedule.objects.all()
    serializer_class = InvoiceScheduleSerializer
    read_roles = write_roles = FINANCE_ADMIN

    def create(self, request, *args, **kwargs):
        data = InvoiceScheduleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = services.invoice_schedule_save(actor=request.user, data=dict(data.validated_data))
        return Response(InvoiceScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False, *args, **kwargs):
        schedule = get_object_or_404(InvoiceSchedule, pk=pk)
        data = InvoiceScheduleSerializer(schedule, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        schedule = services.invoice_schedule_save(actor=request.user, data=dict(data.validated_data), schedule=schedule)
        return Response(InvoiceScheduleSerializer(schedule).data)

    def partial_update(self, request, pk=None, *args, **kwargs):
        return self.update(request, pk=pk, partial=True)


_USAGE_RECORDS = inline_serializer(
    "UsageRecordInput",
    {
        "subscription": serializers.IntegerField(required=False, help_text="The usage subscription's id; or account + product."),
        "account": serializers.CharField(required=False, help_text="Account number (with product, instead of subscription)."),
        "product": serializers.CharField(required=False, help_text="Product SKU (with account)."),
        "quantity": DecimalValueField(max_digits=18, decimal_places=6, help_text="0 to 999,999,999, up to 6 decimals."),
        "timestamp": serializers.DateTimeField(help_text="ISO 8601; without an offset, in the billing time zone; a date alone is noon."),
        "idempotency_key": serializers.CharField(max_length=200, help_text="Unique per subscription: a record sent again is a duplicate."),
    },
    many=True,
)
_USAGE_RESULT = inline_serializer(
    "UsageIngestResult",
    {
        "received": serializers.IntegerField(),
        "imported": serializers.IntegerField(help_text="Records stored by this call."),
        "duplicates": serializers.IntegerField(help_text="Records already stored, or sent twice in this call: ignored."),
        "rejected": serializers.IntegerField(),
        "errors": inline_serializer(
            "UsageRecordError",
            {"row": serializers.IntegerField(help_text="The record's index in `records` (from 0)."), "reason": serializers.CharField()},
            many=True, help_text="Each refused record with its index and reason, in order.",
        ),
    },
)


@extend_schema(
    request=inline_serializer("UsageIngest", {"records": _USAGE_RECORDS}),
    responses={200: _USAGE_RESULT},
)
class UsageView(IdempotentMixin, APIView):
    """POST up to 10,000 usage records: {"records": [{subscription | account+product, quantity, timestamp,
    idempotency_key}]}. Duplicates are counted and ignored; bad records are listed with their index and reason."""

    read_roles = write_roles = FINANCE_ADMIN

    def post(self, request, *args, **kwargs):
        records = request.data.get("records") if isinstance(request.data, dict) else request.data
        if not isinstance(records, list):
            raise ValidationFailed(fields={"records": [_("Send a list of records.")]})
        if len(records) > MAX_RECORDS:
            raise ValidationFailed(
                _("At most %(max)s records per call; this one has %(count)s. Split it into several calls.")
                % {"max": f"{MAX_RECORDS:,}", "count": f"{len(records):,}"}
            )
        result = services.usage_ingest(records=records, actor=request.user, source="api", first_row=0)
        return Response(result.as_dict(), status=status.HTTP_200_OK)


@extend_schema(
    parameters=[
        OpenApiParameter("target_date", OpenApiTypes.DATE, required=True),
        OpenApiParameter("currency", str),
        OpenApiParameter("legal_entity_id", int),
    ],
    responses={
        200: inline_serializer(
            "InvoicePreview",
            {
                "accounts_total": serializers.IntegerField(),
                "accounts_shown": serializers.IntegerField(),
                "documents": serializers.ListField(child=serializers.DictField()),
            },
        )
    },
)
class PreviewView(APIView):
    """GET ?target_date=YYYY-MM-DD (&currency=&legal_entity_id=): what a run would bill; writes nothing."""

    read_roles = write_roles = FINANCE_ADMIN

    def get(self, request, *args, **kwargs):
        try:
            target = dt.date.fromisoformat(request.query_params.get("target_date", ""))
        except ValueError:
            raise ValidationFailed(fields={"target_date": [_("Give a date as YYYY-MM-DD.")]}) from None
        filters = {k: request.query_params.get(k) for k in ("currency", "legal_entity_id") if request.query_params.get(k)}
        result = selectors.invoice_preview(target_date=target, filters=filters)
        documents = [
            {"account": r["account_id"], "error": r["error"]} if r["doc"] is None else {
                "account": r["account_id"], "type": "credit_note" if r["doc"].is_credit else "invoice", "currency": r["doc"].currency,
                "subtotal": str(r["doc"].subtotal_amount), "tax": str(r["doc"].tax_amount), "total": str(r["doc"].total_amount),
                "lines": [{"entry": ln.entry_id, "description": ln.description, "period_start": ln.period_start, "period_end": ln.period_end,
                           "net": str(ln.net_amount), "tax": str(ln.tax_amount), "factor": ln.factor_display} for ln in r["doc"].lines],
            }
            for r in result["rows"]
        ]
        return Response({"accounts_total": result["accounts_total"], "accounts_shown": result["accounts_shown"], "documents": documents})


class UsageRecordSerializer(serializers.ModelSerializer):
    rated = serializers.SerializerMethodField()

    class Meta:
        model = UsageRecord
        fields = ["id", "subscription", "account", "quantity", "occurred_at", "business_date", "idempotency_key",
                  "rated_entry", "rated", "source", "ingest_batch", "created_at"]
        read_only_fields = fields

    def get_rated(self, obj) -> bool:
        return obj.rated_entry_id is not None


class UsageRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Usage records received (newest first); filter by `subscription`, `account`, `business_date`, `source`."""

    queryset = UsageRecord.objects.order_by("-business_date", "-id")
    serializer_class = UsageRecordSerializer
    filterset_fields = ["subscription", "account", "business_date", "source", "ingest_batch"]
    ordering_fields = ["business_date", "occurred_at", "created_at"]
    read_roles = write_roles = FINANCE_ADMIN


class BulkJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Bulk jobs (post drafts, send documents): progress, counts and the reason for each document not done."""

    queryset = BulkJob.objects.all()
    serializer_class = BulkJobSerializer
    filterset_fields = ["kind", "status", "run"]
    read_roles = write_roles = FINANCE_ADMIN


def register(router) -> None:
    router.register("bulk-jobs", BulkJobViewSet, basename="bulk-job")
    router.register("usage-records", UsageRecordViewSet, basename="usage-record")
    router.register("invoices", InvoiceViewSet, basename="invoice")
    router.register("credit-notes", CreditNoteViewSet, basename="credit-note")
    router.register("invoice-runs", InvoiceRunViewSet, basename="invoice-run")
    router.register("invoice-schedules", InvoiceScheduleViewSet, basename="invoice-schedule")


urlpatterns = [
    path("usage/", UsageView.as_view(), name="usage"),
    path("invoice-preview/", PreviewView.as_view(), name="invoice-preview"),
]
