from django.contrib import admin

from catalog.models import (
    BillingRule,
    LegalEntity,
    PriceBook,
    PriceBookEntry,
    PriceTier,
    Product,
    ProductFamily,
    TaxRate,
    TaxRule,
)

# The admin is the admins' escape hatch. Finance edits the catalog through its pages, whose services
# validate tier tables as a whole; here tiers are edited inline and the product page's checklist
# flags any table the engine cannot price.


class TaxRateInline(admin.TabularInline):
    model = TaxRate
    extra = 0


@admin.register(LegalEntity)
class LegalEntityAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "currency", "invoice_prefix", "credit_note_prefix", "active"]
    list_filter = ["country", "currency", "active"]
    search_fields = ["name", "tax_id"]


@admin.register(TaxRule)
class TaxRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "taxable"]
    search_fields = ["name"]
    inlines = [TaxRateInline]


@admin.register(BillingRule)
class BillingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "legal_entity", "period_boundary", "day_count", "invoice_grouping", "generate_invoices", "net_amendments"]
    list_filter = ["period_boundary", "day_count", "invoice_grouping", "legal_entity"]
    search_fields = ["name"]


@admin.register(ProductFamily)
class ProductFamilyAdmin(admin.ModelAdmin):
    list_display = ["name", "approval_discount_percent"]
    search_fields = ["name"]


class PriceBookEntryInline(admin.TabularInline):
    model = PriceBookEntry
    extra = 0
    fields = ["price_book", "pricing_model", "unit_price", "package_size", "free_units", "active"]
    show_change_link = True


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "family", "charge_type", "billing_type", "billing_frequency", "active"]
    list_filter = ["charge_type", "billing_type", "billing_frequency", "family", "active"]
    search_fields = ["sku", "name", "description"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [PriceBookEntryInline]


@admin.register(PriceBook)
class PriceBookAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "legal_entity", "is_standard", "active"]
    list_filter = ["currency", "legal_entity", "active", "is_standard"]
    list_select_related = ["legal_entity"]
    search_fields = ["name"]


class PriceTierInline(admin.TabularInline):
    model = PriceTier
    extra = 0


@admin.register(PriceBookEntry)
class PriceBookEntryAdmin(admin.ModelAdmin):
    list_display = ["product", "price_book", "pricing_model", "unit_price", "active"]
    list_filter = ["pricing_model", "price_book", "active"]
    search_fields = ["product__sku", "product__name"]
    list_select_related = ["product", "price_book"]
    inlines = [PriceTierInline]
