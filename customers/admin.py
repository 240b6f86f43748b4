"""Admin: accounts and contacts are written by the same services as the pages and the API, so the
field permissions, the ownership rule and the audit rows hold here too. Accounts are never deleted."""

from django import forms
from django.contrib import admin

from billing_site.errors import DomainError
from customers import services
from customers.models import Account, Contact
from customers.services import ACCOUNT_FIELDS, CONTACT_FIELDS


def _add_domain_error(form, error: DomainError) -> None:
    for field, messages in error.fields.items():
        form.add_error(field if field in form.fields else None, messages)
    if not error.fields:
        form.add_error(None, str(error.message))


class AccountAdminForm(forms.ModelForm):
    """Refuses what the service would refuse (finance-only fields, ownership) before anything is saved."""

    actor = None

    class Meta:
        model = Account
        fields = list(ACCOUNT_FIELDS)

    def clean(self):
        cleaned = super().clean()
        changed = {f for f in self.changed_data if f in ACCOUNT_FIELDS}
        try:
            services.account_check_change(account=self.instance, actor=self.actor, changed=changed)
        except DomainError as exc:
            _add_domain_error(self, exc)
        return cleaned


class ContactAdminForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["account", *CONTACT_FIELDS]

    def _get_validation_exclusions(self):
        # One billing contact per account: the service moves the flag from the previous one, so the
        # form leaves that constraint (on `account`) to the service instead of refusing a second one.
        return {*super()._get_validation_exclusions(), "account"}


class ContactInline(admin.TabularInline):
    model = Contact
    form = ContactAdminForm
    extra = 0


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountAdminForm
    list_display = ["number", "name", "country", "currency", "status", "credit_limit_amount", "credit_hold", "sales_owner"]
    list_filter = ["status", "currency", "country", "credit_hold", "tax_exempt", "language"]
    search_fields = ["number", "name", "legal_name", "tax_id", "city"]
    readonly_fields = ["number", "created_at", "updated_at"]
    autocomplete_fields = ["sales_owner"]
    inlines = [ContactInline]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request, obj, form, change):
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data if f in ACCOUNT_FIELDS}
            saved = services.account_update(account=obj, actor=request.user, data=data)
        else:
            data = {f: form.cleaned_data[f] for f in ACCOUNT_FIELDS if f in form.cleaned_data}
            saved = services.account_create(actor=request.user, data=data)
        obj.pk, obj.number = saved.pk, saved.number

    def save_formset(self, request, form, formset, change):
        # Contacts go through their services too (billing-contact flag, audit rows on the account).
        instances = formset.save(commit=False)
        for contact in formset.deleted_objects:
            services.contact_delete(contact=contact, actor=request.user)
        for contact in instances:
            data = {f: getattr(contact, f) for f in CONTACT_FIELDS}
            if contact.pk:
                services.contact_update(contact=contact, actor=request.user, data=data)
            else:
                services.contact_create(account=form.instance, actor=request.user, data=data)

    def has_delete_permission(self, request, obj=None):
        return False  # accounts are closed, never deleted: documents point to them


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    form = ContactAdminForm
    list_display = ["__str__", "account", "email", "is_billing_contact"]
    search_fields = ["first_name", "last_name", "email", "account__name"]
    list_select_related = ["account"]

    def get_readonly_fields(self, request, obj=None):
        return ["account"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in CONTACT_FIELDS if f in form.cleaned_data}
        if change:
            saved = services.contact_update(contact=obj, actor=request.user, data=data)
        else:
            saved = services.contact_create(account=form.cleaned_data["account"], actor=request.user, data=data)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.contact_delete(contact=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for contact in queryset:
            services.contact_delete(contact=contact, actor=request.user)
