"""Quote pages: the list, the builder (HTMX, and plain forms without JavaScript), the transitions, the PDF.

Every write calls a service; the approval rules live there, so no page can skip them.
"""

import datetime as dt

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing_site import clock
from billing_site.audit import audit_history
from billing_site.csv_export import csv_response
from billing_site.errors import DomainError
from billing_site.forms import form_add_domain_error
from billing_site.money import sum_money
from billing_site.pages import refusal_as_message
from billing_site.pagination import page_of
from billing_site.roles import ALL, FINANCE_ADMIN, role_required, user_roles
from customers.models import Account
from payments.selectors import credit_summary
from quotes import selectors, services
from quotes.forms import CommentForm, LineAddForm, LineForm, QuoteForm
from quotes.models import Quote, QuoteLine
from quotes.services.building import DEFAULT_VALIDITY_DAYS

# Sales reps build and present quotes; finance may too, and alone approves.
EDITORS = ALL
APPROVERS = FINANCE_ADMIN


def _quote(pk: int) -> Quote:
    return get_object_or_404(
        Quote.objects.select_related("account", "price_book", "legal_entity", "created_by", "approved_by", "cloned_from"),
        pk=pk,
    )


def _credit(quote: Quote):
    """The account's credit picture with this quote (the payments selector views may read, DESIGN §2)."""
    return credit_summary(account=quote.account, today=clock.today(), quote=quote)


@role_required(ALL)
def quote_list(request):
    """Quotes with search, status filters, sort and pagination."""
    sort = request.GET.get("sort", "-created")
    filterset, qs = selectors.quote_list(params=request.GET, request=request, sort=sort)
    page = page_of(request, qs)
    return render(
        request, "quotes/quote_list.html",
        {"filter": filterset, "page": page, "sort": sort, "statuses": Quote.Status.choices, "tones": selectors.STATUS_TONES,
         "selected_status": request.GET.getlist("status")},
    )


@role_required(ALL)
def quote_export(request):
    """The filtered quote list as CSV."""
    _filterset, qs = selectors.quote_list(params=request.GET, request=request, sort=request.GET.get("sort", "-created"))
    header = [
        "number", "version", "account", "status", "currency", "start_date", "term_months", "expiration_date",
        "one_time_total", "mrr", "arr", "total_contract_value", "tax_estimate", "approval_required", "created_by",
    ]
    rows = (
        [
            q.number, q.version, q.account.name, q.status, q.currency, q.start_date, q.term_months, q.expiration_date,
            *(sum_money([amount], q.currency) for amount in (q.one_time_total, q.mrr, q.arr, q.total_contract_value, q.tax_estimate)),
            q.approval_required, q.created_by.get_username() if q.created_by else "",
        ]
        for q in qs.iterator(chunk_size=500)
    )
    return csv_response("quotes.csv", header, rows)


@role_required(ALL, write=EDITORS)
def quote_create(request):
    """Open a quote for an account: the builder follows."""
    initial = {"term_months": 12, "quote_discount_percent": 0}
    today = clock.today()
    account = None
    if request.GET.get("account", "").isdigit():
        account = Account.objects.filter(pk=request.GET["account"]).first()
    if account is not None:
        from catalog.models import PriceBook

        initial.update(
            account=account.pk, payment_terms_days=account.payment_terms_days,
            price_book=PriceBook.objects.filter(currency=account.currency, is_standard=True, active=True).first(),
        )
    initial.setdefault("payment_terms_days", 30)
    initial.update(start_date=today, expiration_date=today + dt.timedelta(days=DEFAULT_VALIDITY_DAYS))
    form = QuoteForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            quote = services.quote_create(actor=request.user, today=today, **data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Quote %(quote)s created: add its lines.") % {"quote": quote})
            return redirect("quotes:detail", pk=quote.pk)
    credit = None
    if account is not None:
        credit = {"credit": credit_summary(account=account, today=today)}
    return render(request, "quotes/quote_form.html", {"form": form, "quote": None, "account": account, "credit_panel": credit})


@role_required(ALL, write=EDITORS)
def quote_edit(request, pk: int):
    """Edit a draft's header."""
    quote = _quote(pk)
    form = QuoteForm(request.POST or None, instance=quote, editing=True)
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in form.changed_data if f in form.cleaned_data}
        try:
            services.quote_update(quote=Quote.objects.get(pk=pk), actor=request.user, data=data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Quote %(quote)s saved.") % {"quote": quote})
            return redirect("quotes:detail", pk=pk)
    return render(request, "quotes/quote_form.html", {"form": form, "quote": quote, "account": quote.account})


def _builder_context(request, quote: Quote, **extra) -> dict:
    roles = user_roles(request.user)
    context = {
        "quote": quote,
        "lines": selectors.quote_lines_display(quote=quote),
        "actions": selectors.quote_actions(quote=quote, roles=roles),
        "tone": selectors.STATUS_TONES.get(quote.status, ""),
        "add_form": extra.pop("add_form", None) or LineAddForm(initial={"quantity": 1}),
        "line_errors": {},
        "typed": {},
        "search": request.GET.get("q", ""),
        "results": selectors.products_for_quote(quote=quote, query=request.GET.get("q", "")),
    }
    context.update(extra)
    for view in context["lines"]:
        view.values = _row_values(view.line, context["typed"].get(view.line.pk))
        view.errors = context["line_errors"].get(view.line.pk, [])
    return context


def _plain(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "normalize"):
        text = format(value.normalize(), "f")
        return text
    return str(value)


def _row_values(line: QuoteLine, typed: dict | None) -> dict:
    """What the row's inputs show: what was typed when it was refused, else the saved values."""
    if typed is not None:
        return {k: typed.get(k, "") for k in ("quantity", "discount_percent", "discount_amount", "start_date", "last_day")}
    return {
        "quantity": _plain(line.quantity), "discount_percent": _plain(line.discount_percent),
        "discount_amount": _plain(line.discount_amount), "start_date": line.start_date.isoformat(),
        "last_day": (line.end_date - dt.timedelta(days=1)).isoformat(),
    }


@role_required(ALL)
def quote_detail(request, pk: int):
    """The quote builder and record: credit picture, lines with breakdowns, totals, approval, history."""
    quote = _quote(pk)
    context = _builder_context(request, quote)
    context.update(
        credit_panel={"credit": _credit(quote)},
        reasons=selectors.approval_reason_messages(quote.approval_reasons, quote.currency),
        history=audit_history(quote)[:100],
        comment_form=CommentForm(),
    )
    return render(request, "quotes/quote_detail.html", context)


def _builder_response(request, quote: Quote, **extra):
    """After a line change: the builder fragment for HTMX, the page otherwise."""
    quote = _quote(quote.pk)
    if request.htmx:
        response = render(request, "quotes/_builder.html", _builder_context(request, quote, **extra))
        # The credit panel shows what remains after this quote: let it refresh too.
        response["HX-Trigger"] = "quote-changed"
        return response
    return redirect("quotes:detail", pk=quote.pk)


@role_required(ALL)
def quote_credit_panel(request, pk: int):
    """The credit panel alone (refreshed by the builder after each change)."""
    quote = _quote(pk)
    return render(request, "payments/credit_panel.html", {"panel": {"credit": _credit(quote)}})


@role_required(ALL)
def product_search(request, pk: int):
    """Products matching a name or SKU, for the builder's search box."""
    quote = _quote(pk)
    if not request.htmx:
        return redirect(reverse("quotes:detail", args=[pk]) + f"?q={request.GET.get('q', '')}#add-line")
    results = selectors.products_for_quote(quote=quote, query=request.GET.get("q", ""))
    return render(request, "quotes/_product_results.html", {"quote": quote, "results": results, "search": request.GET.get("q", "")})


@role_required(ALL, write=EDITORS)
@require_POST
def line_add(request, pk: int):
    quote = _quote(pk)
    form = LineAddForm(request.POST)
    if form.is_valid():
        try:
            services.quote_line_add(quote=quote, actor=request.user, product=form.cleaned_data["product"], **form.service_data())
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            if not request.htmx:
                messages.success(request, _("Line added."))
            return _builder_response(request, quote)
    if request.htmx:
        return _builder_response(request, quote, add_form=form)
    for error in _form_errors(form):
        messages.error(request, error)
    return redirect("quotes:detail", pk=pk)


def _form_errors(form) -> list[str]:
    out = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        out.extend(f"{label}: {e}" if label else str(e) for e in errors)
    return out


@role_required(ALL, write=EDITORS)
@require_POST
def line_update(request, pk: int, line_pk: int):
    quote = _quote(pk)
    line = get_object_or_404(QuoteLine, pk=line_pk, quote=quote)
    form = LineForm(request.POST)
    if form.is_valid():
        try:
            services.quote_line_update(line=line, actor=request.user, data=form.service_data())
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            return _builder_response(request, quote)
    if request.htmx:
        return _builder_response(
            request, quote, line_errors={line.pk: _form_errors(form)}, typed={line.pk: request.POST.dict()},
        )
    for error in _form_errors(form):
        messages.error(request, error)
    return redirect("quotes:detail", pk=pk)


@role_required(ALL, write=EDITORS)
@require_POST
def line_remove(request, pk: int, line_pk: int):
    quote = _quote(pk)
    line = get_object_or_404(QuoteLine, pk=line_pk, quote=quote)
    with refusal_as_message(request):
        services.quote_line_remove(line=line, actor=request.user)
    return _builder_response(request, quote)


def _transition(request, pk: int, run, success: str):
    quote = _quote(pk)
    with refusal_as_message(request):
        quote = run(quote)
        messages.success(request, success % {"quote": quote})
    return redirect("quotes:detail", pk=quote.pk)


@role_required(ALL, write=EDITORS)
@require_POST
def quote_submit(request, pk: int):
    def run(quote):
        credit = _credit(quote)
        quote = services.quote_submit(quote=quote, actor=request.user, open_balance=credit.open_balance, today=clock.today())
        if quote.status == Quote.Status.APPROVED:
            messages.info(request, _("No approval was needed: the quote is approved and can be presented."))
        return quote

    return _transition(request, pk, run, _("Quote %(quote)s submitted."))


@role_required(APPROVERS)
@require_POST
def quote_approve(request, pk: int):
    comment = request.POST.get("comment", "")
    return _transition(
        request, pk, lambda q: services.quote_approve(quote=q, actor=request.user, comment=comment), _("Quote %(quote)s approved.")
    )


@role_required(APPROVERS)
@require_POST
def quote_reject_approval(request, pk: int):
    comment = request.POST.get("comment", "")
    return _transition(
        request, pk, lambda q: services.quote_reject_approval(quote=q, actor=request.user, comment=comment),
        _("Quote %(quote)s sent back to draft."),
    )


@role_required(ALL, write=EDITORS)
@require_POST
def quote_revise(request, pk: int):
    return _transition(
        request, pk, lambda q: services.quote_revise(quote=q, actor=request.user),
        _("Quote %(quote)s is a draft again: it will be checked for approval when submitted."),
    )


@role_required(ALL, write=EDITORS)
@require_POST
def quote_present(request, pk: int):
    return _transition(
        request, pk, lambda q: services.quote_present(quote=q, actor=request.user, today=clock.today()),
        _("Quote %(quote)s presented: its PDF is being prepared."),
    )


@role_required(ALL, write=EDITORS)
@require_POST
def quote_reject(request, pk: int):
    comment = request.POST.get("comment", "")
    return _transition(
        request, pk, lambda q: services.quote_reject(quote=q, actor=request.user, comment=comment),
        _("Quote %(quote)s marked as rejected by the customer."),
    )


@role_required(ALL, write=EDITORS)
@require_POST
def quote_clone(request, pk: int):
    return _transition(
        request, pk, lambda q: services.quote_clone(quote=q, actor=request.user, today=clock.today()),
        _("New version %(quote)s created as a draft."),
    )


@role_required(ALL, write=EDITORS)
@require_POST
def quote_delete(request, pk: int):
    quote = _quote(pk)
    with refusal_as_message(request) as outcome:
        services.quote_delete(quote=quote, actor=request.user)
    if outcome.refused:
        return redirect("quotes:detail", pk=pk)
    messages.success(request, _("Draft %(quote)s deleted.") % {"quote": quote})
    return redirect("quotes:index")


@role_required(ALL)
def quote_pdf(request, pk: int):
    """Download the quote's PDF (rendered by the worker when the quote was presented)."""
    quote = _quote(pk)
    if not quote.pdf:
        if quote.status == Quote.Status.PRESENTED:
            messages.info(request, _("The PDF is being prepared; try again in a moment."))
            return redirect("quotes:detail", pk=pk)
        raise Http404(_("This quote has no PDF: it is rendered when the quote is presented."))
    return FileResponse(quote.pdf.open("rb"), as_attachment=True, filename=f"{quote.number}-v{quote.version}.pdf", content_type="application/pdf")
