"""REST API of the payments stage: the same services as the pages.

/api/v1/payments/                  list (filters as the page), record (POST), read
/api/v1/payments/{id}/allocate/    POST {invoice, amount, invoice_line?}
/api/v1/payments/{id}/unallocate/  POST {invoice, amount?}
/api/v1/payments/{id}/auto-allocate/  POST
/api/v1/payments/{id}/refund/      POST {amount, reason?}
/api/v1/allocations/               read-only history (filter: payment, invoice, credit_note, account)
/api/v1/refunds/                   read-only
/api/v1/credit-note-balances/{id}/allocate/  and  /refund/  (credit note balances)
/api/v1/invoice-balances/          posted invoices with payments, credits, balance and payment status
/api/v1/payment-methods/           list, add (token only), set-autopay, remove
/api/v1/payment-runs/              list, read with attempts, start (POST runs it now)
/api/v1/bank-statements/           list, read with lines, import (multipart `file`)
/api/v1/bank-statement-lines/{id}/resolve/  POST {action: match|assign|ignore, invoices?, account?, reason?}
The credit summary is at /api/v1/accounts/{id}/credit-summary/ (quotes stage).
"""

import datetime as dt

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site import clock
from billing_site.api import RecurViewSet, SummaryListMixin
from billing_site.api_fields import DecimalValueField
from billing_site.errors import ValidationFailed
from billing_site.roles import ALL, FINANCE_ADMIN
from customers.models import Account
from invoicing.api import DocumentSendSerializer
from invoicing.models import CreditNote, Invoice, InvoiceLine
from payments import selectors, services
from payments.filters import PaymentFilter
from payments.models import (
    Allocation,
    Payment,
    PaymentAttempt,
    PaymentMethod,
    PaymentMethodKind,
    PaymentRun,
    Refund,
    StatementImport,
    StatementLine,
)
from payments.selectors.pages import PAYMENT_SORTS
from payments.selectors.reports import statement_default_period
from payments.selectors.timeline import KINDS as TIMELINE_KINDS
from payments.selectors.timeline import account_figures, timeline_events, timeline_filter
from payments.services.statements import statement_send

AMOUNT = {"max_digits": 18, "decimal_places": 6}


class AllocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Allocation
        fields = ["id", "account", "currency", "invoice", "invoice_line", "payment", "credit_note", "amount", "allocated_date",
                  "reason", "actor_label", "created_at"]


class RefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "account", "currency", "payment", "credit_note", "amount", "refund_date", "method", "reason",
                  "gateway_transaction_id", "created_at"]


class PaymentSerializer(serializers.ModelSerializer):
    auto_allocate = serializers.BooleanField(write_only=True, required=False, default=False)
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())

    class Meta:
        model = Payment
        fields = ["id", "account", "currency", "amount", "received_date", "method", "reference", "notes", "source",
                  "gateway_transaction_id", "allocated_amount", "refunded_amount", "unapplied_amount", "created_at", "auto_allocate"]
        read_only_fields = ["id", "source", "gateway_transaction_id", "allocated_amount", "refunded_amount", "unapplied_amount",
                            "created_at"]


class AllocateInput(serializers.Serializer):
    invoice = serializers.PrimaryKeyRelatedField(queryset=Invoice.objects.all())
    amount = DecimalValueField(**AMOUNT)
    invoice_line = serializers.PrimaryKeyRelatedField(queryset=InvoiceLine.objects.all(), required=False, allow_null=True)


class UnallocateInput(serializers.Serializer):
    invoice = serializers.PrimaryKeyRelatedField(queryset=Invoice.objects.all())
    amount = DecimalValueField(**AMOUNT, required=False, allow_null=True)


class RefundInput(serializers.Serializer):
    amount = DecimalValueField(**AMOUNT)
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    method = serializers.ChoiceField(choices=PaymentMethodKind.choices, required=False, default=PaymentMethodKind.BANK_TRANSFER)


class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Payments received: record, allocate, unallocate, auto-allocate, refund."""

    queryset = Payment.objects.select_related("account").order_by("-received_date", "-id")
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter
    ordering_fields = list(PAYMENT_SORTS.values())
    read_roles = ALL
    write_roles = FINANCE_ADMIN

    @extend_schema(examples=[OpenApiExample("A bank transfer, settling open invoices", request_only=True, value={
        "account": 7, "currency": "EUR", "amount": "1200.00", "received_date": "2026-12-05", "method": "bank_transfer",
        "reference": "INV000001", "auto_allocate": True})])
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = serializer.validated_data
        payment = services.payment_record(
            account=d["account"], amount=d["amount"], currency=d["currency"], received_date=d["received_date"], method=d["method"],
            reference=d.get("reference", ""), notes=d.get("notes", ""), today=clock.today(), actor=request.user,
            source=Payment.Source.API, auto_allocate=d.get("auto_allocate", False),
        )
        return Response(self.get_serializer(payment).data, status=status.HTTP_201_CREATED)

    def _payment(self, pk):
        return get_object_or_404(Payment, pk=pk)

    @extend_schema(request=AllocateInput, responses={201: AllocationSerializer})
    @action(detail=True, methods=["post"])
    def allocate(self, request, pk=None, *args, **kwargs):
        payment = self._payment(pk)
        data = _valid(AllocateInput, request)
        allocation = services.payment_allocate(payment=payment, invoice=data["invoice"], amount=data["amount"],
                                               invoice_line=data.get("invoice_line"), today=clock.today(), actor=request.user)
        return Response(AllocationSerializer(allocation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UnallocateInput, responses={201: AllocationSerializer(many=True)})
    @action(detail=True, methods=["post"])
    def unallocate(self, request, pk=None, *args, **kwargs):
        payment = self._payment(pk)
        data = _valid(UnallocateInput, request)
        rows = services.payment_unallocate(payment=payment, invoice=data["invoice"], amount=data.get("amount"),
                                           today=clock.today(), actor=request.user)
        return Response(AllocationSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: AllocationSerializer(many=True)})
    @action(detail=True, methods=["post"], url_path="auto-allocate")
    def auto_allocate(self, request, pk=None, *args, **kwargs):
        rows = services.payment_auto_allocate(payment=self._payment(pk), today=clock.today(), actor=request.user)
        return Response(AllocationSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RefundInput, responses={201: RefundSerializer})
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None, *args, **kwargs):
        data = _valid(RefundInput, request)
        refund = services.payment_refund(payment=self._payment(pk), amount=data["amount"], reason=data["reason"],
                                         today=clock.today(), actor=request.user)
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class AllocationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Allocation history (signed rows; never deleted)."""

    queryset = Allocation.objects.order_by("id")
    serializer_class = AllocationSerializer
    filterset_fields = ["payment", "invoice", "credit_note", "account"]
    read_roles = write_roles = ALL


class RefundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    queryset = Refund.objects.order_by("-id")
    serializer_class = RefundSerializer
    filterset_fields = ["payment", "credit_note", "account"]
    read_roles = write_roles = ALL


class CreditNoteBalanceViewSet(RecurViewSet):
    """Allocate or refund a posted credit note's open balance."""

    queryset = CreditNote.objects.all()
    read_roles = ALL
    write_roles = FINANCE_ADMIN
    serializer_class = AllocateInput

    @extend_schema(request=AllocateInput, responses={201: AllocationSerializer})
    @action(detail=True, methods=["post"])
    def allocate(self, request, pk=None, *args, **kwargs):
        note = get_object_or_404(CreditNote, pk=pk)
        data = _valid(AllocateInput, request)
        allocation = services.credit_note_allocate(credit_note=note, invoice=data["invoice"], amount=data["amount"],
                                                   invoice_line=data.get("invoice_line"), today=clock.today(), actor=request.user)
        return Response(AllocationSerializer(allocation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RefundInput, responses={201: RefundSerializer})
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None, *args, **kwargs):
        note = get_object_or_404(CreditNote, pk=pk)
        data = _valid(RefundInput, request)
        refund = services.credit_note_refund(credit_note=note, amount=data["amount"], method=data["method"],
                                             reason=data["reason"], today=clock.today(), actor=request.user)
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class InvoiceBalanceSerializer(serializers.ModelSerializer):
    payments_amount = DecimalValueField(**AMOUNT, read_only=True)
    credits_amount = DecimalValueField(**AMOUNT, read_only=True)
    balance_amount = DecimalValueField(source="open_amount", **AMOUNT, read_only=True)
    payment_status = serializers.CharField(source="pay_status", read_only=True)

    class Meta:
        model = Invoice
        fields = ["id", "number", "account", "currency", "invoice_date", "due_date", "total_amount", "payments_amount",
                  "credits_amount", "balance_amount", "payment_status"]


class InvoiceBalanceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Posted invoices with what was paid and credited, the balance and the payment status."""

    serializer_class = InvoiceBalanceSerializer
    filterset_fields = ["account", "currency"]
    read_roles = write_roles = ALL

    def get_queryset(self):
        qs = selectors.invoices_with_balance(Invoice.objects.filter(status=Invoice.Status.POSTED)).order_by("due_date", "id")
        wanted = self.request.query_params.get("payment_status")
        return qs.filter(pay_status=wanted) if wanted else qs


class PaymentMethodSerializer(serializers.ModelSerializer):
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())

    class Meta:
        model = PaymentMethod
        fields = ["id", "account", "gateway", "token", "brand", "last4", "exp_month", "exp_year", "is_autopay", "active", "created_at"]
        read_only_fields = ["id", "active", "created_at"]


class PaymentMethodViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Stored gateway tokens (never card numbers); one autopay method per account."""

    queryset = PaymentMethod.objects.order_by("id")
    serializer_class = PaymentMethodSerializer
    filterset_fields = ["account", "is_autopay", "active"]
    read_roles = write_roles = FINANCE_ADMIN

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        method = services.payment_method_add(actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(method).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"], url_path="set-autopay")
    def set_autopay(self, request, pk=None, *args, **kwargs):
        method = services.payment_method_set_autopay(method=get_object_or_404(PaymentMethod, pk=pk), actor=request.user,
                                                     autopay=bool(request.data.get("autopay", True)))
        return Response(self.get_serializer(method).data)

    @action(detail=True, methods=["post"])
    def remove(self, request, pk=None, *args, **kwargs):
        method = services.payment_method_remove(method=get_object_or_404(PaymentMethod, pk=pk), actor=request.user)
        return Response(self.get_serializer(method).data)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentAttempt
        fields = ["id", "invoice", "account", "payment_method", "attempt_no", "amount", "currency", "idempotency_key", "status",
                  "decline_code", "message", "gateway_transaction_id", "attempted_on", "next_retry_on", "payment"]


class PaymentRunSerializer(serializers.ModelSerializer):
    attempts = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = PaymentRun
        fields = ["id", "run_date", "trigger", "status", "attempts_count", "succeeded_count", "declined_count", "collected",
                  "created_at", "finished_at", "attempts"]


class PaymentRunViewSet(SummaryListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Payment runs; POST starts one and runs it now (safe to repeat: nothing is charged twice).
    The list leaves out `attempts` unless `?expand=attempts`."""

    queryset = PaymentRun.objects.order_by("-id")
    list_expandable = {"attempts": ("attempts",)}
    serializer_class = PaymentRunSerializer
    read_roles = write_roles = FINANCE_ADMIN

    def create(self, request, *args, **kwargs):
        today = clock.today()
        run = services.payment_run_execute(run=services.payment_run_start(today=today, actor=request.user), today=today)
        return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)


class StatementLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatementLine
        fields = ["id", "statement", "line_no", "booking_date", "amount", "currency", "reference", "counterparty", "status", "note",
                  "account", "payment", "candidate_invoices"]


class StatementSerializer(serializers.ModelSerializer):
    lines = StatementLineSerializer(many=True, read_only=True)

    class Meta:
        model = StatementImport
        fields = ["id", "file_name", "file_hash", "format", "status", "lines_count", "processed_count", "matched_count", "error",
                  "imported_at", "finished_at", "lines"]


class StatementViewSet(SummaryListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Bank statements: POST a file (multipart `file`) to import it (201, `status` queued: a worker matches the
    lines; GET the statement to follow `processed_count` until `status` is done); the same file twice returns the
    first import (200). The list leaves out `lines` unless `?expand=lines`."""

    queryset = StatementImport.objects.order_by("-id")
    list_expandable = {"lines": ("lines__candidate_invoices",)}
    serializer_class = StatementSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    read_roles = write_roles = FINANCE_ADMIN

    def create(self, request, *args, **kwargs):
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationFailed(fields={"file": ["Attach the statement file as `file`."]})
        statement, created = services.statement_import(file_name=upload.name, content=upload.read(), today=clock.today(),
                                                       actor=request.user, background=True)
        statement.refresh_from_db()
        return Response(self.get_serializer(statement).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ResolveInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=["match", "assign", "ignore"])
    invoices = serializers.PrimaryKeyRelatedField(queryset=Invoice.objects.all(), many=True, required=False)
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all(), required=False)
    reason = serializers.CharField(required=False, default="", allow_blank=True)


class StatementLineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Statement lines; filter `status=unmatched|ambiguous` for the review queue."""

    queryset = StatementLine.objects.prefetch_related("candidate_invoices").order_by("id")
    serializer_class = StatementLineSerializer
    filterset_fields = ["status", "statement", "account"]
    read_roles = write_roles = FINANCE_ADMIN

    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None, *args, **kwargs):
        line = get_object_or_404(StatementLine, pk=pk)
        data = _valid(ResolveInput, request)
        today = clock.today()
        if data["action"] == "match":
            line = services.statement_line_match(line=line, invoices=data.get("invoices", []), today=today, actor=request.user)
        elif data["action"] == "assign":
            if not data.get("account"):
                raise ValidationFailed(fields={"account": ["Choose the account that paid."]})
            line = services.statement_line_assign(line=line, account=data["account"], today=today, actor=request.user)
        else:
            line = services.statement_line_ignore(line=line, actor=request.user, reason=data["reason"])
        line.refresh_from_db()
        return Response(self.get_serializer(line).data)


def register(router) -> None:
    router.register("payments", PaymentViewSet, basename="payment")
    router.register("allocations", AllocationViewSet, basename="allocation")
    router.register("refunds", RefundViewSet, basename="refund")
    router.register("credit-note-balances", CreditNoteBalanceViewSet, basename="credit-note-balance")
    router.register("invoice-balances", InvoiceBalanceViewSet, basename="invoice-balance")
    router.register("payment-methods", PaymentMethodViewSet, basename="payment-method")
    router.register("payment-runs", PaymentRunViewSet, basename="payment-run")
    router.register("bank-statements", StatementViewSet, basename="bank-statement")
    router.register("bank-statement-lines", StatementLineViewSet, basename="bank-statement-line")


class TimelineEventSerializer(serializers.Serializer):
    day = serializers.DateField()
    kind = serializers.ChoiceField(choices=list(TIMELINE_KINDS))
    reference = serializers.CharField()
    label = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=6, allow_null=True)
    currency = serializers.CharField(allow_blank=True)
    status = serializers.CharField(allow_blank=True)


class TimelineFiguresSerializer(serializers.Serializer):
    currency = serializers.CharField()
    bought = serializers.DecimalField(max_digits=18, decimal_places=6)
    delivered_count = serializers.IntegerField()
    delivery_count = serializers.IntegerField()
    delivered_late_count = serializers.IntegerField()
    billed = serializers.DecimalField(max_digits=18, decimal_places=6)
    paid = serializers.DecimalField(max_digits=18, decimal_places=6)
    open = serializers.DecimalField(max_digits=18, decimal_places=6)
    overdue = serializers.DecimalField(max_digits=18, decimal_places=6)
    lifetime_value = serializers.DecimalField(max_digits=18, decimal_places=6)


class TimelineSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    figures = TimelineFiguresSerializer()
    events = TimelineEventSerializer(many=True)


class AccountTimelineView(APIView):
    """The account's timeline (customer 360): figures and events; `?kind=invoice&kind=payment&start=&end=`."""

    read_roles = write_roles = ALL

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, many=True, enum=list(TIMELINE_KINDS)),
            OpenApiParameter("start", dt.date), OpenApiParameter("end", dt.date),
        ],
        responses={200: TimelineSerializer},
    )
    def get(self, request, pk: int):
        from payments.views.timeline import timeline_params

        account = get_object_or_404(Account, pk=pk)
        today = clock.today()
        events = timeline_filter(timeline_events(account=account, today=today), **timeline_params(request.query_params))
        data = {"account": account.pk, "figures": account_figures(account=account, today=today),
                "events": [e.__dict__ for e in events]}
        return Response(TimelineSerializer(data).data)


class StatementSendRequestSerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="Default: the first of the month a year back.")
    end = serializers.DateField(required=False, help_text="Default: today.")
    currency = serializers.ChoiceField(choices=list(settings.CURRENCIES), required=False,
                                       help_text="Default: the account's currency.")


class AccountStatementSendView(APIView):
    """Email the account's statement (PDF) to its billing contacts now; the send is logged on the account."""

    read_roles = ALL
    write_roles = FINANCE_ADMIN

    @extend_schema(operation_id="accounts_statement_send", request=StatementSendRequestSerializer,
                   responses={201: DocumentSendSerializer})
    def post(self, request, pk: int):
        account = get_object_or_404(Account, pk=pk)
        data = StatementSendRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        start, end = statement_default_period(today=clock.today())
        sent = statement_send(
            account=account, start=data.validated_data.get("start", start), end=data.validated_data.get("end", end),
            currency=data.validated_data.get("currency", account.currency), actor=request.user,
        )
        return Response(DocumentSendSerializer(sent).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("accounts/<int:pk>/timeline/", AccountTimelineView.as_view(), name="account-timeline"),
    path("accounts/<int:pk>/statement/send/", AccountStatementSendView.as_view(), name="account-statement-send"),
]
