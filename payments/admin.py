"""Admin: the money rows are read-only (they change only through the services, and are never deleted)."""

from django.contrib import admin

from payments.models import (
    Allocation,
    DunningEvent,
    DunningStep,
    GatewayOperation,
    Payment,
    PaymentAttempt,
    PaymentMethod,
    PaymentRun,
    Refund,
    StatementImport,
    StatementLine,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["id", "received_date", "account", "amount", "currency", "method", "source", "unapplied_amount"]
    list_filter = ["method", "source", "currency"]
    search_fields = ["reference", "account__name", "account__number"]
    list_select_related = ["account"]


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = ["id", "allocated_date", "invoice", "payment", "credit_note", "amount", "currency", "actor_label"]
    list_select_related = ["invoice", "payment", "credit_note"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["id", "refund_date", "account", "payment", "credit_note", "amount", "currency"]


@admin.register(PaymentMethod)
class PaymentMethodAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "gateway", "brand", "last4", "is_autopay", "active"]
    list_filter = ["gateway", "is_autopay", "active"]
    readonly_fields = ["account", "gateway", "token", "is_autopay", "created_at"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PaymentRun)
class PaymentRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "run_date", "trigger", "status", "attempts_count", "succeeded_count", "declined_count"]


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyAdmin):
    list_display = ["idempotency_key", "invoice", "attempt_no", "amount", "currency", "status", "attempted_on", "next_retry_on"]
    list_filter = ["status"]


@admin.register(GatewayOperation)
class GatewayOperationAdmin(ReadOnlyAdmin):
    list_display = ["idempotency_key", "operation", "transaction_id", "created_at"]


@admin.register(DunningStep)
class DunningStepAdmin(admin.ModelAdmin):
    list_display = ["name", "offset_days", "action", "template", "active"]


@admin.register(DunningEvent)
class DunningEventAdmin(ReadOnlyAdmin):
    list_display = ["run_date", "invoice", "step", "status", "email_to", "credit_hold"]


class StatementLineInline(admin.TabularInline):
    model = StatementLine
    extra = 0
    can_delete = False
    fields = ["line_no", "booking_date", "amount", "currency", "reference", "counterparty", "status", "payment"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(StatementImport)
class StatementImportAdmin(ReadOnlyAdmin):
    list_display = ["file_name", "format", "lines_count", "matched_count", "imported_at"]
    inlines = [StatementLineInline]
