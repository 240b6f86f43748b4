"""Admin: orders and contracts are browsed here; activated orders and billed entries are read-only."""

from django.contrib import admin

from contracts.models import Contract, Order, OrderProduct, ScheduleEntry, Subscription


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderProductInline(admin.TabularInline):
    model = OrderProduct
    extra = 0
    fk_name = "order"
    raw_id_fields = ["product", "subscription"]

    def _draft(self, obj):
        return obj is None or obj.status == Order.Status.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._draft(obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "account", "type", "status", "start_date", "effective_date", "currency", "created_at"]
    list_filter = ["status", "type", "currency"]
    search_fields = ["number", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "quote", "contract"]
    inlines = [OrderProductInline]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Order.Status.DRAFT:
            return [f.name for f in obj._meta.fields]
        return ["number", "status", "activated_at", "activated_by", "created_by"]

    def has_delete_permission(self, request, obj=None):
        return obj is None or obj.status == Order.Status.DRAFT


class SubscriptionInline(ReadOnlyInline):
    model = Subscription
    fields = ["product", "status", "quantity", "unit_price", "billing_frequency", "billing_type", "start_date", "end_date"]
    readonly_fields = fields


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    """Contracts change through orders and amendments only: the admin shows them."""

    list_display = ["number", "account", "status", "start_date", "end_date", "evergreen", "auto_renew", "currency"]
    list_filter = ["status", "evergreen", "auto_renew", "currency"]
    search_fields = ["number", "account__name"]
    list_select_related = ["account"]
    inlines = [SubscriptionInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["id", "contract", "product", "status", "quantity", "unit_price", "start_date", "end_date", "scheduled_until"]
    list_filter = ["status", "charge_type", "billing_frequency"]
    search_fields = ["contract__number", "product__name", "account__name"]
    list_select_related = ["contract", "product"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ScheduleEntry)
class ScheduleEntryAdmin(admin.ModelAdmin):
    """Schedule rows are written by activation and amendments and billed by invoicing: read-only here."""

    list_display = ["id", "contract", "subscription", "kind", "is_delta", "status", "period_start", "period_end", "bill_on", "amount",
                    "currency"]
    list_filter = ["status", "kind", "is_delta", "currency"]
    search_fields = ["contract__number", "account__name"]
    list_select_related = ["contract", "subscription__product"]
    date_hierarchy = "bill_on"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
