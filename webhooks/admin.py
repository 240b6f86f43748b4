from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "is_active", "consecutive_failures", "disabled_at", "created_at"]
    list_filter = ["is_active"]
    fields = ["url", "description", "event_types", "secret", "is_active", "disabled_at", "disabled_reason",
              "consecutive_failures", "last_event_sequence", "created_by", "created_at"]
    readonly_fields = ["secret", "is_active", "disabled_at", "disabled_reason", "consecutive_failures",
                       "last_event_sequence", "created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        # The services validate and audit; enabling and disabling happen on the Webhooks page.
        data = {k: form.cleaned_data.get(k) for k in ("url", "description", "event_types")}
        if change:
            services.endpoint_update(endpoint=obj, actor=request.user, data=data)
        else:
            obj.pk = services.endpoint_create(actor=request.user, data=data).pk


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["at", "status_code", "error", "duration_ms", "response_excerpt"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "endpoint", "event", "status", "attempts_count", "last_status_code", "next_attempt_at"]
    list_filter = ["status", "endpoint"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [AttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Resend the selected deliveries"))
    def resend(self, request, queryset):
        for delivery in queryset.exclude(status=Delivery.Status.PENDING):
            services.webhook_delivery_resend(delivery=delivery, actor=request.user)
