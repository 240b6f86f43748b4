"""Admin: invoices, credit notes, runs and money rows are shown, not edited (their services write them);
schedules save through their service; unbilled usage may be corrected through its service."""

from django.contrib import admin

from invoicing.models import (
    BulkJob,
    CreditNote,
    CreditNoteLine,
    DocumentSend,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    InvoiceRunChunk,
    InvoiceRunError,
    InvoiceSchedule,
    NumberSeries,
    UsageRecord,
)


class PostedReadOnly:
    """Posted documents (and their lines) are frozen: no change, no delete, through the admin either."""

    def _posted(self, obj) -> bool:
        doc = getattr(obj, "invoice", None) if isinstance(obj, InvoiceLine) else getattr(obj, "credit_note", None) if isinstance(obj, CreditNoteLine) else obj
        return doc is not None and getattr(doc, "status", "draft") != "draft"

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj is not None and self._posted(obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj is not None and self._posted(obj))


class InvoiceLineInline(PostedReadOnly, admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = ["position", "source", "description", "period_start", "period_end", "quantity", "unit_price", "factor_display",
              "net_amount", "tax_amount", "total_amount", "corrects"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(PostedReadOnly, admin.ModelAdmin):
    list_display = ["__str__", "account", "status", "invoice_date", "due_date", "currency", "total_amount", "open_amount",
                    "payment_status", "run"]
    list_filter = ["status", "payment_status", "currency", "legal_entity"]
    search_fields = ["number", "account__name", "account__number"]
    # The balance and payment status are kept by the allocation services only.
    readonly_fields = ["number", "sequence", "status", "subtotal_amount", "tax_amount", "total_amount", "open_amount",
                       "payment_status", "snapshot", "posted_at",
                       "posted_by", "sent_at", "cancelled_at", "run", "rebill_of", "pdf", "created_at"]
    raw_id_fields = ["account", "contract"]
    inlines = [InvoiceLineInline]

    # Drafts are made by runs and changed by their services (regenerate, discard, post): discarding
    # gives the billed periods back, which a plain delete here would not.
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CreditNoteLineInline(InvoiceLineInline):
    model = CreditNoteLine
    fields = ["position", "source", "description", "invoice_line", "net_amount", "tax_amount", "total_amount"]
    readonly_fields = fields


@admin.register(CreditNote)
class CreditNoteAdmin(PostedReadOnly, admin.ModelAdmin):
    list_display = ["__str__", "account", "kind", "status", "credit_date", "currency", "total_amount"]
    list_filter = ["status", "kind", "currency"]
    search_fields = ["number", "account__name"]
    readonly_fields = ["number", "sequence", "status", "subtotal_amount", "tax_amount", "total_amount", "snapshot", "posted_at",
                       "posted_by", "sent_at", "run", "pdf", "created_at", "created_by"]
    raw_id_fields = ["account", "invoice"]
    inlines = [CreditNoteLineInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ChunkInline(admin.TabularInline):
    model = InvoiceRunChunk
    extra = 0
    fields = ["index", "status", "attempts", "position", "accounts_failed", "invoices_count", "lines_count", "error"]
    readonly_fields = fields
    can_delete = False


@admin.register(InvoiceRun)
class InvoiceRunAdmin(admin.ModelAdmin):
    """Runs are started and resumed by their services (claims, chunks, audit): shown here, not edited."""

    list_display = ["id", "target_date", "invoice_date", "status", "auto_post", "accounts_total", "invoices_count", "accounts_failed"]
    list_filter = ["status", "auto_post"]
    inlines = [ChunkInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in InvoiceRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InvoiceRunError)
class InvoiceRunErrorAdmin(admin.ModelAdmin):
    """What a run recorded: read-only."""

    list_display = ["run", "account", "message", "created_at"]
    raw_id_fields = ["run", "account"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InvoiceSchedule)
class InvoiceScheduleAdmin(admin.ModelAdmin):
    """Editable here too; saving goes through `invoice_schedule_save`, which recomputes the next run day."""

    list_display = ["name", "frequency", "auto_post", "active", "next_run_date", "last_run_date"]
    list_filter = ["frequency", "active"]
    readonly_fields = ["next_run_date", "last_run_date"]

    def save_model(self, request, obj, form, change):
        from invoicing.services import invoice_schedule_save
        from invoicing.services.schedules import SCHEDULE_FIELDS

        data = {f: getattr(obj, f) for f in SCHEDULE_FIELDS}
        saved = invoice_schedule_save(actor=request.user, data=data, schedule=obj if change else None)
        obj.pk, obj.next_run_date = saved.pk, saved.next_run_date


@admin.register(NumberSeries)
class NumberSeriesAdmin(admin.ModelAdmin):
    list_display = ["legal_entity", "document_type", "prefix", "next_number"]
    readonly_fields = ["next_number"]


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    """Usage arrives through `usage_ingest` (API, CSV). Here a person may correct the quantity or date
    of a record that is not rated yet; once rated (billed) it is read-only, and which entry rated it
    is never edited (clearing it would bill the usage twice)."""

    list_display = ["subscription", "account", "business_date", "quantity", "idempotency_key", "rated_entry", "source"]
    search_fields = ["idempotency_key"]
    raw_id_fields = ["subscription", "account", "rated_entry"]
    EDITABLE = ("quantity", "occurred_at")  # the business date follows the time

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        def clean(self):
            # Refuse on the form what the service would refuse (billed period, bad quantity).
            from billing_site.errors import DomainError
            from invoicing.services.usage_corrections import usage_record_check

            cleaned = super(form, self).clean()
            if self.instance.pk is not None and not self.errors:
                try:
                    usage_record_check(record=self.instance, data={f: cleaned[f] for f in self.changed_data})
                except DomainError as exc:
                    for field, messages in exc.fields.items():
                        self.add_error(field, messages)
                    if not exc.fields:
                        self.add_error(None, str(exc.message))
            return cleaned

        return type(form.__name__, (form,), {"clean": clean})

    def get_readonly_fields(self, request, obj=None):
        names = [f.name for f in UsageRecord._meta.fields]
        if obj is not None and obj.rated_entry_id is None:
            return [n for n in names if n not in self.EDITABLE]
        return names

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.rated_entry_id is None)

    def save_model(self, request, obj, form, change):
        from invoicing.services.usage_corrections import usage_record_correct

        usage_record_correct(record=obj, actor=request.user, data={f: form.cleaned_data[f] for f in form.changed_data})

    def delete_queryset(self, request, queryset):
        # The bulk action deletes only records no run has rated.
        super().delete_queryset(request, queryset.filter(rated_entry__isnull=True))


@admin.register(BulkJob)
class BulkJobAdmin(admin.ModelAdmin):
    """Bulk jobs are written by their services and workers only: read-only here."""

    list_display = ["__str__", "kind", "document_type", "status", "position", "succeeded", "skipped", "failed", "created_by", "created_at"]
    list_filter = ["kind", "status"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DocumentSend)
class DocumentSendAdmin(BulkJobAdmin):
    """The log of documents sent: read-only."""

    list_display = ["__str__", "account", "invoice", "credit_note", "sent_at", "sent_by", "resend"]
    list_filter = ["resend"]
    raw_id_fields = ["account", "invoice", "credit_note", "job"]
