"""Import pages: upload, dry-run preview with mapping, commit with live progress, error rows as CSV."""

import io

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing_site.csv_export import csv_response
from billing_site.errors import DomainError
from billing_site.forms import form_add_domain_error
from billing_site.pages import refusal_as_message
from billing_site.roles import FINANCE_ADMIN, role_required
from imports import services
from imports.forms import CommitForm, UploadForm
from imports.kinds import KINDS
from imports.models import ImportBatch, Kind
from imports.selectors import batch_progress, batch_view


@role_required(FINANCE_ADMIN)
def index(request):
    """Upload a file of one kind; its dry run opens next."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = services.import_upload(
                kind=form.cleaned_data["kind"], filename=upload.name, content=upload.read(), actor=request.user,
            )
            return redirect("imports:detail", batch.pk)
        except DomainError as exc:
            form_add_domain_error(form, exc)
    batches = ImportBatch.objects.select_related("created_by").defer("content", "errors", "counts")[:25]
    kinds = [{"kind": k, "label": label, "columns": KINDS[k].columns} for k, label in Kind.choices]
    return render(request, "imports/index.html", {"form": form, "batches": batches, "kinds": kinds})


@role_required(FINANCE_ADMIN)
def detail(request, pk: int):
    """The dry run (per row: create / update / unchanged / error) or the committed result."""
    batch = get_object_or_404(ImportBatch.objects.defer("content"), pk=pk)
    return render(request, "imports/detail.html", {**batch_view(batch), "commit_form": CommitForm()})


@role_required(FINANCE_ADMIN)
def progress(request, pk: int):
    """The live progress block (HTMX polls it every 2 s while the commit runs)."""
    batch = get_object_or_404(ImportBatch.objects.defer("content", "errors", "counts"), pk=pk)
    return render(request, "imports/_progress.html", {"batch": batch, "progress": batch_progress(batch)})


@role_required(FINANCE_ADMIN)
@require_POST
def mapping(request, pk: int):
    """Map the file's unknown headers to columns, then dry-run again."""
    batch = get_object_or_404(ImportBatch, pk=pk)
    chosen = {key[len("map:"):]: value for key, value in request.POST.items() if key.startswith("map:")}
    try:
        services.import_set_mapping(batch=batch, actor=request.user, mapping=chosen)
        messages.success(request, _("Columns mapped; the dry run was done again."))
    except DomainError as exc:
        messages.error(request, str(exc.fields.get("mapping", [exc.message])[0]))
    return redirect("imports:detail", batch.pk)


@role_required(FINANCE_ADMIN)
@require_POST
def commit(request, pk: int):
    """Commit the previewed file: all or nothing, or only the good rows; runs on the workers."""
    batch = get_object_or_404(ImportBatch.objects.defer("content"), pk=pk)
    form = CommitForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how to import."))
        return redirect("imports:detail", batch.pk)
    with refusal_as_message(request):
        services.import_commit(batch=batch, actor=request.user, mode=form.cleaned_data["mode"])
        messages.success(request, _("Import started."))
    return redirect("imports:detail", batch.pk)


@role_required(FINANCE_ADMIN)
def errors_csv(request, pk: int):
    """Every error row as the file had it, plus its error: fix it and upload it again."""
    batch = get_object_or_404(ImportBatch.objects.defer("content"), pk=pk)
    headers = list(batch.counts.get("headers") or [])
    rows = ([*e["cells"], e["column"], e["message"]] for e in batch.errors)
    return csv_response(f"import-{batch.pk}-errors.csv", [*headers, _("error column"), _("error")], rows)


@role_required(FINANCE_ADMIN)
def template(request, kind: str, fmt: str):
    """An empty template of one kind (CSV or XLSX): the column names and one example row."""
    if kind not in KINDS:
        return HttpResponse(status=404)
    header = services.template_header(kind)
    example = [EXAMPLES.get(kind, {}).get(name, "") for name in header]
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = kind
        sheet.append(header)
        sheet.append(example)
        out = io.BytesIO()
        book.save(out)
        response = HttpResponse(out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f'attachment; filename="recur-{kind}.xlsx"'
        return response
    return csv_response(f"recur-{kind}.csv", header, [example])


EXAMPLES = {
    "accounts": {"external_id": "C-1001", "name": "Acme SAS", "country": "FR", "currency": "EUR", "language": "fr",
                 "payment_terms_days": "30", "billing_day": "1", "billing_emails": "ap@acme.example", "city": "Lyon"},
    "contacts": {"external_id": "P-1", "account": "C-1001", "first_name": "Marie", "last_name": "Curie",
                 "email": "marie@acme.example", "is_billing_contact": "yes"},
    "products": {"external_id": "SKU-PLAT", "sku": "PLAT", "name": "Platform", "charge_type": "recurring",
                 "billing_type": "advance", "billing_frequency": "1", "default_term_months": "12",
                 "billing_rule": "Standard"},
    "prices": {"external_id": "STD-PLAT", "price_book": "Standard EUR", "product": "PLAT", "pricing_model": "tiered",
               "tiers": "0|10|100.00|0; 10||80.00|0"},
    "contracts": {"contract_id": "K-77", "account": "C-1001", "start_date": "01/01/2025", "term_months": "24",
                  "billed_through": "31/10/2025", "product": "PLAT", "quantity": "10", "unit_price": "1 150,00"},
    "opening": {"external_id": "F2025-118", "account": "C-1001", "number": "F2025-118", "invoice_date": "15/10/2025",
                "due_date": "14/11/2025", "open_amount": "1 234,56"},
}
