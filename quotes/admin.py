from django.contrib import admin

from quotes.models import Quote, QuoteLine


class QuoteLineInline(admin.TabularInline):
    """Lines are priced by the quote services: the admin shows them, it does not edit them."""

    model = QuoteLine
    extra = 0
    can_delete = False
    fields = [
        "position", "product", "quantity", "list_unit_price", "discount_percent", "discount_amount", "net_unit_price",
        "start_date", "end_date", "line_total", "tax_amount",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    """Quotes change through their services (pricing, approval, audit); the admin is read-only for them."""

    list_display = ["__str__", "account", "status", "currency", "total_contract_value", "expiration_date", "created_by"]
    list_filter = ["status", "currency", "approval_required"]
    search_fields = ["number", "account__name"]
    list_select_related = ["account", "created_by"]
    date_hierarchy = "created_at"
    inlines = [QuoteLineInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Quote._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(QuoteLine)
class QuoteLineAdmin(admin.ModelAdmin):
    list_display = ["__str__", "quote", "line_total"]
    list_select_related = ["quote", "product"]
    search_fields = ["quote__number", "product__sku", "product__name"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in QuoteLine._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
