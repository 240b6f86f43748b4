"""Invoicing pages. Views parse, call one service or selector, and render; no business logic here."""

import datetime as dt
import itertools

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from billing_site import clock
from billing_site.audit import audit_history
from billing_site.csv_export import csv_response
from billing_site.errors import DomainError
from billing_site.forms import form_add_domain_error
from billing_site.money import format_money, quantum, sum_money
from billing_site.pages import refusal_as_message
from billing_site.pagination import page_of
from billing_site.roles import ALL, FINANCE_ADMIN, role_required
from invoicing import selectors, services
from invoicing.forms import PreviewForm, RunForm, ScheduleForm, UsageUploadForm, WhyForm
from invoicing.models import BulkJob, CreditNote, Invoice, InvoiceRun, InvoiceSchedule, UsageRecord
from invoicing.services.delivery import document_pdf_bytes


@role_required(ALL)
def invoice_list(request):
    """Invoices with filters, sort, pagination and CSV export."""
    sort = request.GET.get("sort", "-created")
    filterset, qs = selectors.invoice_list(params=request.GET, sort=sort)
    page = page_of(request, qs)
    return render(request, "invoicing/invoice_list.html", {"filter": filterset, "page": page, "sort": sort, "statuses": Invoice.Status.choices,
                                                           "payment_filters": selectors.PAYMENT_FILTERS})


@role_required(ALL)
def invoice_export(request):
    _filterset, qs = selectors.invoice_list(params=request.GET, sort=request.GET.get("sort", "-created"))
    header = ["number", "status", "account_number", "account", "legal_entity", "currency", "invoice_date", "due_date",
              "subtotal", "tax", "total", "run", "balance", "payment_status"]
    rows = (
        [i.number or "", i.status, i.account.number, i.account.name, i.legal_entity.name, i.currency, i.invoice_date or "",
         i.due_date or "", i.subtotal_amount.quantize(quantum(i.currency)), i.tax_amount.quantize(quantum(i.currency)), i.total_amount.quantize(quantum(i.currency)), i.run_id or "",
         i.open_amount.quantize(quantum(i.currency)) if i.status == Invoice.Status.POSTED else "", i.pay_state if i.status == Invoice.Status.POSTED else ""]
        for i in qs.iterator(chunk_size=500)
    )
    return csv_response("invoices.csv", header, rows)


@role_required(ALL)
def invoice_detail(request, pk: int):
    invoice = get_object_or_404(Invoice.objects.select_related("account", "legal_entity", "contract", "run", "rebill_of"), pk=pk)
    context = {
        "invoice": invoice, "lines": invoice.lines.select_related("subscription").order_by("position"),
        "credit_notes": invoice.credit_notes.order_by("-id"), "credit": selectors.invoice_credited(invoice),
        "rebilled_by": invoice.rebilled_by.all(), "history": audit_history(invoice)[:100],
        "pay_state": selectors.payment_state(invoice, today=clock.today()),
        "settled": invoice.total_amount - invoice.open_amount,
        "sends": invoice.sends.select_related("sent_by")[:50],
    }
    return render(request, "invoicing/invoice_detail.html", context)


def _pdf_response(document, stored):
    if stored:
        return FileResponse(document.pdf.open("rb"), content_type="application/pdf", filename=f"{document.number}.pdf")
    name = document.number or f"draft-{document.pk}"
    response = HttpResponse(document_pdf_bytes(document), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response


@role_required(ALL)
def invoice_pdf(request, pk: int):
    """The stored PDF of a posted invoice (rendered now if the worker has not yet), or a draft preview."""
    invoice = get_object_or_404(Invoice, pk=pk)
    return _pdf_response(invoice, bool(invoice.pdf))


def _confirm(request, *, title, consequences, action, back, confirm_label, danger=False, hidden=(), ask_reason=False,
             reason_required=False, error=""):
    """The step before an irreversible action: what will happen, then Confirm (a plain form, no JavaScript)."""
    return render(request, "billing_site/confirm.html", {
        "title": title, "consequences": consequences, "action": action, "back": back, "confirm_label": confirm_label,
        "danger": danger, "hidden": list(hidden), "ask_reason": ask_reason, "reason_required": reason_required,
        "reason": request.POST.get("reason", ""), "error": error,
    })


def _recipients_text(document) -> str:
    from invoicing.services.delivery import document_recipients

    return ", ".join(document_recipients(document)) or _("nobody (no billing email on the account)")


@role_required(FINANCE_ADMIN)
def invoice_post(request, pk: int):
    """Post a draft, after a confirmation that says which number it takes forever."""
    invoice = get_object_or_404(Invoice.objects.select_related("legal_entity", "account"), pk=pk)
    if request.method == "POST" and request.POST.get("confirm") == "1":
        with refusal_as_message(request):
            invoice = services.invoice_post(invoice=invoice, actor=request.user, today=clock.today())
            messages.success(request, _("Invoice %(number)s posted.") % {"number": invoice.number})
        return redirect("invoicing:detail", pk=pk)
    if invoice.status != Invoice.Status.DRAFT:
        messages.error(request, _("Only a draft invoice can be posted; %(number)s is %(status)s.")
                       % {"number": invoice, "status": invoice.get_status_display().lower()})
        return redirect("invoicing:detail", pk=pk)
    today = clock.today()
    [number] = selectors.next_numbers(legal_entity_id=invoice.legal_entity_id, document_type="invoice")
    due = today + dt.timedelta(days=invoice.payment_terms_days)
    consequences = [
        _("It takes number %(number)s of %(entity)s forever: numbers are never reused.") % {"number": number, "entity": invoice.legal_entity.name},
        _("It is dated %(date)s, due on %(due)s, for %(total)s.") % {
            "date": date_format(today, "SHORT_DATE_FORMAT"), "due": date_format(due, "SHORT_DATE_FORMAT"),
            # The total posting will freeze: the sum of the lines' rounded totals.
            "total": format_money(sum_money(invoice.lines.values_list("total_amount", flat=True), invoice.currency), invoice.currency)},
        _("It can no longer be changed or discarded, only corrected by a credit note."),
        _("Its PDF is emailed to %(to)s.") % {"to": _recipients_text(invoice)},
    ]
    return _confirm(request, title=_("Post draft invoice %(id)s?") % {"id": invoice.pk}, consequences=consequences,
                    action=reverse("invoicing:post", args=[pk]), back=reverse("invoicing:detail", args=[pk]),
                    confirm_label=_("Post as %(number)s") % {"number": number})


@role_required(ALL, write=FINANCE_ADMIN)
@require_POST
def invoice_discard(request, pk: int):
    invoice = get_object_or_404(Invoice, pk=pk)
    with refusal_as_message(request) as outcome:
        services.invoice_discard(invoice=invoice, actor=request.user)
    if outcome.refused:
        return redirect("invoicing:detail", pk=pk)
    messages.success(request, _("Draft discarded: its periods are back to “to bill”."))
    return redirect("invoicing:index")


@role_required(ALL, write=FINANCE_ADMIN)
@require_POST
def invoice_regenerate(request, pk: int):
    invoice = get_object_or_404(Invoice, pk=pk)
    with refusal_as_message(request) as outcome:
        new = services.invoice_regenerate(invoice=invoice, actor=request.user, today=clock.today())
    if outcome.refused:
        return redirect("invoicing:detail", pk=pk)
    messages.success(request, _("Draft rebuilt from the current schedule and account details."))
    return redirect("invoicing:detail", pk=new.pk) if new else redirect("invoicing:index")


@role_required(FINANCE_ADMIN)
def invoice_cancel_rebill(request, pk: int):
    """Cancel a posted invoice with a credit note and bill its periods again, after a confirmation."""
    invoice = get_object_or_404(Invoice.objects.select_related("legal_entity"), pk=pk)
    if request.method == "POST" and request.POST.get("confirm") == "1":
        with refusal_as_message(request) as outcome:
            note, new = services.invoice_cancel_and_rebill(invoice=invoice, actor=request.user, today=clock.today(),
                                                           reason=request.POST.get("reason", ""))
        if outcome.refused:
            return redirect("invoicing:detail", pk=pk)
        messages.success(request, _("Invoice %(number)s cancelled by credit note %(note)s; a new draft bills its periods again.")
                         % {"number": invoice.number, "note": note.number if note else "—"})
        return redirect("invoicing:detail", pk=new[0].pk) if new else redirect("invoicing:detail", pk=pk)
    if invoice.status != Invoice.Status.POSTED:
        messages.error(request, _("Only a posted invoice can be cancelled and re-billed."))
        return redirect("invoicing:detail", pk=pk)
    [note_number] = selectors.next_numbers(legal_entity_id=invoice.legal_entity_id, document_type="credit_note")
    consequences = [
        _("A credit note (number %(number)s) credits what is left of %(invoice)s and is applied to its balance of %(open)s.")
        % {"number": note_number, "invoice": invoice.number, "open": format_money(invoice.open_amount, invoice.currency)},
        _("%(invoice)s becomes cancelled for good; payments already allocated to it stay where they are.") % {"invoice": invoice.number},
        _("Its billing periods go back to be billed and a new draft invoice bills them again, for you to check and post."),
    ]
    return _confirm(request, title=_("Cancel and re-bill %(number)s?") % {"number": invoice.number}, consequences=consequences,
                    action=reverse("invoicing:cancel-rebill", args=[pk]), back=reverse("invoicing:detail", args=[pk]),
                    confirm_label=_("Cancel %(number)s and re-bill") % {"number": invoice.number}, danger=True, ask_reason=True)


@role_required(ALL, write=FINANCE_ADMIN)
def invoice_credit(request, pk: int):
    """Credit chosen amounts of a posted invoice's lines (or everything left)."""
    invoice = get_object_or_404(Invoice.objects.select_related("account"), pk=pk)
    credit = selectors.invoice_credited(invoice)
    lines = list(invoice.lines.order_by("position"))
    rows = [{"line": ln, "credited": credit["by_line"][ln.pk], "left": ln.net_amount - credit["by_line"][ln.pk],
             "value": request.POST.get(f"line_{ln.pk}", "")} for ln in lines]
    errors, reason = {}, request.POST.get("reason", "")
    if request.method == "POST":
        full = request.POST.get("mode") == "full"
        chosen = None if full else {ln.pk: request.POST.get(f"line_{ln.pk}", "") for ln in lines}
        try:
            note = services.credit_note_create(invoice=invoice, lines=chosen, reason=reason, actor=request.user)
        except DomainError as exc:
            errors = {"form": str(exc.message), **{k: " ".join(v) for k, v in exc.fields.items()}}
        else:
            messages.success(request, _("Draft credit note created; check it and post it."))
            return redirect("invoicing:credit-note-detail", pk=note.pk)
    for row in rows:
        row["error"] = errors.get(f"line_{row['line'].pk}", "")
    return render(request, "invoicing/credit_form.html", {"invoice": invoice, "rows": rows, "errors": errors, "reason": reason})


@role_required(ALL)
def credit_note_list(request):
    qs = selectors.credit_note_list(params=request.GET)
    page = page_of(request, qs)
    return render(request, "invoicing/credit_note_list.html", {"page": page, "statuses": CreditNote.Status.choices})


@role_required(ALL)
def credit_note_export(request):
    """The filtered credit note list as CSV."""
    qs = selectors.credit_note_list(params=request.GET)
    header = ["number", "status", "kind", "account_number", "account", "invoice", "legal_entity", "currency", "credit_date",
              "subtotal", "tax", "total", "reason"]
    rows = (
        [n.number or "", n.status, n.kind, n.account.number, n.account.name, n.invoice.number if n.invoice_id else "",
         n.legal_entity.name, n.currency, n.credit_date or "", n.subtotal_amount.quantize(quantum(n.currency)), n.tax_amount.quantize(quantum(n.currency)),
         n.total_amount.quantize(quantum(n.currency)), n.reason]
        for n in qs.select_related("account", "invoice", "legal_entity").iterator(chunk_size=500)
    )
    return csv_response("credit-notes.csv", header, rows)


@role_required(ALL, write=FINANCE_ADMIN)
def credit_note_detail(request, pk: int):
    note = get_object_or_404(CreditNote.objects.select_related("account", "invoice", "legal_entity"), pk=pk)
    from invoicing.services.documents import credit_note_unallocated_amount

    left = credit_note_unallocated_amount(note.pk)
    open_invoices = Invoice.objects.filter(account=note.account, currency=note.currency, status=Invoice.Status.POSTED).order_by("-id")[:50]
    return render(request, "invoicing/credit_note_detail.html", {
        "note": note, "lines": note.lines.select_related("invoice_line__invoice").order_by("position"),
        "left": left, "open_invoices": open_invoices,
        "history": audit_history(note)[:100], "sends": note.sends.select_related("sent_by")[:50],
    })


@role_required(ALL)
def credit_note_pdf(request, pk: int):
    note = get_object_or_404(CreditNote, pk=pk)
    return _pdf_response(note, bool(note.pdf))


@role_required(ALL, write=FINANCE_ADMIN)
@require_POST
def credit_note_post(request, pk: int):
    note = get_object_or_404(CreditNote, pk=pk)
    with refusal_as_message(request):
        note = services.credit_note_post(credit_note=note, actor=request.user, today=clock.today())
        messages.success(request, _("Credit note %(number)s posted.") % {"number": note.number})
    return redirect("invoicing:credit-note-detail", pk=pk)


@role_required(ALL, write=FINANCE_ADMIN)
@require_POST
def credit_note_discard(request, pk: int):
    note = get_object_or_404(CreditNote, pk=pk)
    with refusal_as_message(request) as outcome:
        services.credit_note_discard(credit_note=note, actor=request.user)
    if outcome.refused:
        return redirect("invoicing:credit-note-detail", pk=pk)
    messages.success(request, _("Draft credit note discarded."))
    return redirect("invoicing:credit-notes")


@role_required(FINANCE_ADMIN)
def run_list(request):
    page = Paginator(InvoiceRun.objects.select_related("schedule", "created_by"), 25).get_page(request.GET.get("page"))
    return render(request, "invoicing/run_list.html", {"page": page})


@role_required(FINANCE_ADMIN)
def run_create(request):
    today = clock.today()
    form = RunForm(request.POST or None, initial={"target_date": today, "send_documents": True})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = services.invoice_run_create(
                actor=request.user, target_date=data["target_date"], invoice_date=data.get("invoice_date"),
                filters=form.filters(), auto_post=data["auto_post"], send_documents=data["send_documents"],
            )
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Run %(id)s queued; the workers are billing it.") % {"id": run.pk})
            return redirect("invoicing:run-detail", pk=run.pk)
    return render(request, "invoicing/run_form.html", {"form": form})


@role_required(FINANCE_ADMIN)
def run_detail(request, pk: int):
    run = get_object_or_404(InvoiceRun.objects.select_related("schedule", "created_by"), pk=pk)
    context = {"run": run, "progress": selectors.run_progress(run), "errors": selectors.run_errors(run)[:500],
               "history": audit_history(run)[:50], "filters": selectors.run_filters_display(run.filters),
               "bulk_jobs": run.bulk_jobs.order_by("-id")[:3],
               "drafts_count": Invoice.objects.filter(run=run, status=Invoice.Status.DRAFT).count()}
    return render(request, "invoicing/run_detail.html", context)


@role_required(FINANCE_ADMIN)
def run_progress(request, pk: int):
    """The live progress block (HTMX polls it every 2 s while the run is active)."""
    run = get_object_or_404(InvoiceRun, pk=pk)
    # Also swaps the page's action buttons and times (out of band): a finished run has no Cancel.
    return render(request, "invoicing/_run_progress.html", {"run": run, "progress": selectors.run_progress(run),
                                                             "errors": selectors.run_errors(run)[:500], "oob": True})


@role_required(FINANCE_ADMIN)
@require_POST
def run_cancel(request, pk: int):
    run = get_object_or_404(InvoiceRun, pk=pk)
    with refusal_as_message(request):
        services.invoice_run_cancel(run=run, actor=request.user)
        messages.success(request, _("Run cancelled: it stops after the accounts being billed now."))
    return redirect("invoicing:run-detail", pk=pk)


@role_required(FINANCE_ADMIN)
@require_POST
def run_resume(request, pk: int):
    run = get_object_or_404(InvoiceRun, pk=pk)
    with refusal_as_message(request):
        indexes = services.invoice_run_resume(run=run, actor=request.user)
        messages.success(request, _("%(n)s unfinished chunk(s) sent to the workers again.") % {"n": len(indexes)})
    return redirect("invoicing:run-detail", pk=pk)


@role_required(FINANCE_ADMIN)
def preview(request):
    """What a run would bill: nothing is written."""
    form = PreviewForm(request.GET or None, initial={"target_date": clock.today()})
    result = None
    if request.GET and form.is_valid():
        try:
            result = selectors.invoice_preview(target_date=form.cleaned_data["target_date"], filters=form.filters())
        except DomainError as exc:
            form_add_domain_error(form, exc)
    return render(request, "invoicing/preview.html", {"form": form, "result": result})


@role_required(ALL)
def why_not_billed(request):
    form = WhyForm(request.GET or None)
    result = None
    if request.GET and form.is_valid():
        result = selectors.why_not_billed(subscription_id=form.cleaned_data.get("subscription"),
                                          entry_id=form.cleaned_data.get("entry"), today=clock.today())
    return render(request, "invoicing/why.html", {"form": form, "result": result, "today": clock.today()})


@role_required(FINANCE_ADMIN)
def schedule_list(request):
    return render(request, "invoicing/schedule_list.html", {"schedules": InvoiceSchedule.objects.all()})


@role_required(FINANCE_ADMIN)
def schedule_edit(request, pk: int | None = None):
    schedule = get_object_or_404(InvoiceSchedule, pk=pk) if pk else None
    form = ScheduleForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        try:
            services.invoice_schedule_save(actor=request.user, data=form.data_for_service(), schedule=schedule, today=clock.today())
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Schedule saved."))
            return redirect("invoicing:schedules")
    return render(request, "invoicing/schedule_form.html", {"form": form, "schedule": schedule})


@role_required(FINANCE_ADMIN)
def usage_upload(request):
    """Upload usage as CSV: good rows import, duplicates are counted, bad rows are listed with their reason."""
    form = UsageUploadForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            records = services.usage_parse_csv(content=form.cleaned_data["file"].read())
            result = services.usage_ingest(records=records, actor=request.user, source="csv", first_row=2)
        except DomainError as exc:
            form_add_domain_error(form, exc)
    recent = UsageRecord.objects.select_related("subscription__product", "account").order_by("-id")[:25]
    return render(request, "invoicing/usage.html", {"form": form, "result": result, "recent": recent})




def _numbering_consequences(numbering: list[dict]) -> list[str]:
    out = [
        ngettext("%(count)s draft of %(entity)s takes number %(first)s forever.",
                 "%(count)s drafts of %(entity)s take numbers %(first)s to %(last)s forever.", r["count"]) % r
        for r in numbering
    ]
    return [*out, _("They can no longer be changed or discarded, only corrected by credit notes; each is emailed to its billing contacts.")]


def _selected_ids(request) -> list[str]:
    return request.POST.getlist("ids")


@role_required(FINANCE_ADMIN)
@require_POST
def invoice_bulk(request):
    """The invoice list's bulk actions on the ticked invoices: post (after a confirmation), send, resend, ZIP of PDFs."""
    action, ids = request.POST.get("action", ""), _selected_ids(request)
    back = reverse("invoicing:index")
    if not ids:
        messages.error(request, _("Tick at least one invoice first."))
        return redirect(back)
    if action == "zip":
        with refusal_as_message(request) as outcome:
            stream = services.documents_zip_stream(document_type="invoice", ids=ids)
            first = next(stream)
        if outcome.refused:
            return redirect(back)
        response = StreamingHttpResponse(itertools.chain([first], stream), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="invoices-{clock.today().isoformat()}.zip"'
        return response
    if action == "post" and request.POST.get("confirm") != "1":
        numbering = selectors.drafts_numbering(ids)
        consequences = _numbering_consequences(numbering)
        return _confirm(request, title=_("Post %(n)s invoices?") % {"n": len(ids)}, consequences=consequences,
                        action=reverse("invoicing:bulk"), back=back, confirm_label=_("Post %(n)s invoices") % {"n": len(ids)},
                        hidden=[("action", "post"), *(("ids", i) for i in ids)])
    kinds = {"post": ("post", False), "send": ("send", False), "resend": ("send", True)}
    if action not in kinds:
        messages.error(request, _("Unknown bulk action."))
        return redirect(back)
    kind, resend = kinds[action]
    with refusal_as_message(request) as outcome:
        job = services.bulk_job_create(kind=kind, ids=ids, resend=resend, actor=request.user)
    if outcome.refused:
        return redirect(back)
    return redirect("invoicing:bulk-job", pk=job.pk)


@role_required(FINANCE_ADMIN)
def run_post_drafts(request, pk: int):
    """Post every draft a run left for review, on the workers, after a confirmation."""
    run = get_object_or_404(InvoiceRun, pk=pk)
    drafts = list(Invoice.objects.filter(run=run, status=Invoice.Status.DRAFT).values_list("pk", flat=True))
    if request.method == "POST" and request.POST.get("confirm") == "1":
        with refusal_as_message(request) as outcome:
            job = services.bulk_job_create(kind="post", run=run, actor=request.user)
        if outcome.refused:
            return redirect("invoicing:run-detail", pk=pk)
        return redirect("invoicing:bulk-job", pk=job.pk)
    if not drafts:
        messages.error(request, _("Run %(id)s has no draft invoice left to post.") % {"id": run.pk})
        return redirect("invoicing:run-detail", pk=pk)
    consequences = _numbering_consequences(selectors.drafts_numbering(drafts))
    return _confirm(request, title=_("Post the %(n)s drafts of run %(id)s?") % {"n": len(drafts), "id": run.pk},
                    consequences=consequences, action=reverse("invoicing:run-post-drafts", args=[pk]),
                    back=reverse("invoicing:run-detail", args=[pk]), confirm_label=_("Post %(n)s invoices") % {"n": len(drafts)})


@role_required(FINANCE_ADMIN)
def bulk_job_detail(request, pk: int):
    job = get_object_or_404(BulkJob.objects.select_related("run", "created_by"), pk=pk)
    return render(request, "invoicing/bulk_job.html", {"job": job, "history": audit_history(job)[:20]})


@role_required(FINANCE_ADMIN)
def bulk_job_progress(request, pk: int):
    """The live progress block (HTMX polls it every 2 s until the job is done)."""
    job = get_object_or_404(BulkJob, pk=pk)
    return render(request, "invoicing/_bulk_progress.html", {"job": job})


def _send(request, document, detail_url: str):
    resend = request.POST.get("resend") == "1"
    with refusal_as_message(request) as outcome:
        sent = services.document_send_now(document=document, actor=request.user, resend=resend)
    if outcome.refused:
        return redirect(detail_url)
    if sent is None:
        messages.info(request, _("%(document)s was already sent; use Resend to send it again.") % {"document": document})
    else:
        messages.success(request, _("%(document)s sent to %(to)s.") % {"document": document, "to": sent.recipients})
    return redirect(detail_url)


@role_required(FINANCE_ADMIN)
@require_POST
def invoice_send(request, pk: int):
    invoice = get_object_or_404(Invoice, pk=pk)
    return _send(request, invoice, reverse("invoicing:detail", args=[pk]))


@role_required(FINANCE_ADMIN)
@require_POST
def credit_note_send(request, pk: int):
    note = get_object_or_404(CreditNote, pk=pk)
    return _send(request, note, reverse("invoicing:credit-note-detail", args=[pk]))
