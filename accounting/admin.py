"""Admin: settings and the chart are editable; periods change only through close/reopen; the journal
and schedules are read-only (they are never edited, only reversed)."""

from django.contrib import admin

from accounting.models import (
    Books,
    ChartAccount,
    FinancePeriod,
    JournalEntry,
    JournalLine,
    RecognitionTiming,
    RevenueLine,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Books)
class BooksAdmin(admin.ModelAdmin):
    """Admins set the SIREN and, before any period exists, the calendar (periods are cut from it)."""

    list_display = ["legal_entity", "calendar", "siren"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and FinancePeriod.objects.filter(legal_entity=obj.legal_entity_id).exists():
            return ["legal_entity", "calendar"]
        return ["legal_entity"] if obj is not None else []


@admin.register(ChartAccount)
class ChartAccountAdmin(admin.ModelAdmin):
    list_display = ["legal_entity", "code", "name", "role"]
    list_filter = ["legal_entity"]
    readonly_fields = ["legal_entity", "role"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FinancePeriod)
class FinancePeriodAdmin(ReadOnlyAdmin):
    list_display = ["legal_entity", "name", "start_date", "end_date", "status", "closed_at", "closed_by"]
    list_filter = ["legal_entity", "status"]


class JournalLineInline(admin.TabularInline):
    model = JournalLine
    fields = ["ledger_account", "customer", "label", "debit", "credit"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "legal_entity", "journal", "kind", "entry_date", "period", "piece_ref", "label", "currency"]
    list_filter = ["legal_entity", "journal", "kind"]
    search_fields = ["piece_ref", "label", "source_key"]
    inlines = [JournalLineInline]


@admin.register(RevenueLine)
class RevenueLineAdmin(ReadOnlyAdmin):
    list_display = ["line_key", "kind", "customer", "rule", "period_start", "amount", "currency", "recognized_period"]
    list_filter = ["legal_entity", "rule", "kind"]
    raw_id_fields = ["customer", "product", "invoice_line", "credit_note_line", "recognized_entry", "recognized_period"]


@admin.register(RecognitionTiming)
class RecognitionTimingAdmin(admin.ModelAdmin):
    """Admins choose, per product, whether its revenue schedule is created at order activation.
    The choice applies to orders activated after it (schedules already written stay as they are)."""

    list_display = ["product", "schedule_on"]
    list_filter = ["schedule_on"]
    autocomplete_fields = ["product"]
