from django.contrib import admin

from imports.models import ExternalKey, ImportBatch


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """Read-only: batches are written by the import services only."""

    list_display = ("id", "kind", "filename", "status", "mode", "rows_total", "rows_done", "created_by", "created_at")
    list_filter = ("kind", "status")
    exclude = ("content",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ExternalKey)
class ExternalKeyAdmin(admin.ModelAdmin):
    list_display = ("kind", "external_id", "object_id", "batch", "created_at")
    list_filter = ("kind",)
    search_fields = ("external_id",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
