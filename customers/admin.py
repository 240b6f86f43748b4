from django.contrib import admin

from customers.models import Account, Contact


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "country", "currency", "status", "credit_limit_amount", "credit_hold", "sales_owner"]
    list_filter = ["status", "currency", "country", "credit_hold", "tax_exempt", "language"]
    search_fields = ["number", "name", "legal_name", "tax_id", "city"]
    readonly_fields = ["number", "created_at", "updated_at"]
    autocomplete_fields = ["sales_owner"]
    inlines = [ContactInline]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "account", "email", "is_billing_contact"]
    search_fields = ["first_name", "last_name", "email", "account__name"]
    list_select_related = ["account"]
