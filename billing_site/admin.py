from django.contrib import admin

from billing_site.models import AuditLog, Event, IdempotencyRecord, UserProfile

admin.site.site_header = "Recur administration"
admin.site.site_title = "Recur"


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Append-only: visible, never editable."""

    list_display = ["at", "actor_label", "object_type", "object_repr", "action", "from_state", "to_state"]
    list_filter = ["object_type", "action"]
    search_fields = ["object_repr", "object_id", "actor_label", "message"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "method", "path", "key", "status_code"]
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "language"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The outbox is append-only: visible, never editable."""

    list_display = ["id", "created_at", "type", "account_id", "event_id"]
    list_filter = ["type"]
    search_fields = ["event_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
