"""Payment methods, payment runs, the dunning ladder, and bank statement imports."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing_site import clock
from billing_site.errors import DomainError
from billing_site.forms import form_add_domain_error
from billing_site.pages import refusal_as_message
from billing_site.roles import role_required
from customers.models import Account
from invoicing.models import Invoice
from payments import services
from payments.forms import DunningStepForm, LineResolveForm, PaymentMethodForm, StatementUploadForm
from payments.models import (
    DunningEvent,
    DunningStep,
    PaymentAttempt,
    PaymentMethod,
    PaymentRun,
    StatementImport,
    StatementLine,
)
from payments.views._common import READ, WRITE


@role_required(READ, write=WRITE)
def methods(request, account_pk: int):
    """An account's stored payment methods: add one, choose the autopay method, remove one."""
    account = get_object_or_404(Account, pk=account_pk)
    form = PaymentMethodForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action", "add")
        if action in ("autopay", "stop_autopay", "remove"):
            method = get_object_or_404(PaymentMethod, pk=request.POST.get("method") or 0, account=account)
            if action == "remove":
                services.payment_method_remove(method=method, actor=request.user)
                messages.success(request, _("Payment method removed."))
            else:
                with refusal_as_message(request):
                    services.payment_method_set_autopay(method=method, actor=request.user, autopay=action == "autopay")
                    messages.success(request, _("Autopay updated."))
            return redirect("payments:methods", account_pk=account.pk)
        if form.is_valid():
            try:
                services.payment_method_add(account=account, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                form_add_domain_error(form, exc)
            else:
                messages.success(request, _("Payment method added."))
                return redirect("payments:methods", account_pk=account.pk)
    rows = PaymentMethod.objects.filter(account=account).order_by("-active", "-is_autopay", "id")
    return render(request, "payments/methods.html", {"account": account, "methods": rows, "form": form})


@role_required(WRITE)
def runs(request):
    """Payment runs (newest first) and a button to start one now."""
    if request.method == "POST":
        today = clock.today()
        run = services.payment_run_start(today=today, actor=request.user)
        run = services.payment_run_execute(run=run, today=today)
        messages.success(request, _("Payment run finished: %(ok)s charged, %(declined)s declined.") % {
            "ok": run.succeeded_count, "declined": run.declined_count})
        return redirect("payments:run", pk=run.pk)
    page = Paginator(PaymentRun.objects.select_related("created_by"), 25).get_page(request.GET.get("page"))
    failed = PaymentAttempt.objects.filter(status__in=[PaymentAttempt.Status.DECLINED_FINAL, PaymentAttempt.Status.DECLINED_TRANSIENT]
                                           ).select_related("invoice", "account", "payment_method")[:20]
    return render(request, "payments/runs.html", {"page": page, "failed": failed})


@role_required(WRITE)
def run_detail(request, pk: int):
    run = get_object_or_404(PaymentRun, pk=pk)
    attempts = run.attempts.select_related("invoice", "account", "payment_method", "payment").order_by("id")
    return render(request, "payments/run_detail.html", {"run": run, "attempts": attempts})


@role_required(WRITE)
def dunning(request):
    """The ladder, recent events, and a button to run dunning now."""
    if request.method == "POST":
        counts = services.dunning_run(today=clock.today())
        messages.success(request, _("Dunning done: %(sent)s emails sent, %(holds)s accounts put on credit hold.") % counts)
        return redirect("payments:dunning")
    events = Paginator(DunningEvent.objects.select_related("invoice", "step", "account"), 50).get_page(request.GET.get("page"))
    return render(request, "payments/dunning.html", {"steps": DunningStep.objects.all(), "page": events})


@role_required(WRITE)
def dunning_step(request, pk: int | None = None):
    step = get_object_or_404(DunningStep, pk=pk) if pk else None
    form = DunningStepForm(request.POST or None, instance=step)
    if request.method == "POST" and form.is_valid():
        try:
            services.dunning_step_save(actor=request.user, data=form.cleaned_data, step=step)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Dunning step saved."))
            return redirect("payments:dunning")
    return render(request, "payments/dunning_step_form.html", {"form": form, "step": step})


@role_required(WRITE)
def bank(request):
    """Statement imports: upload a file, see what was matched."""
    form = StatementUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            # The lines are stored now; a worker matches them and the statement page follows it.
            statement, created = services.statement_import(
                file_name=upload.name, content=upload.read(), today=clock.today(), actor=request.user, background=True)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            statement.refresh_from_db()
            if created and statement.status == StatementImport.Status.DONE:
                messages.success(request, _("%(lines)s lines imported, %(matched)s matched.") % {
                    "lines": statement.lines_count, "matched": statement.matched_count})
            elif created:
                messages.success(request, _("%(lines)s lines imported; they are being matched.") % {"lines": statement.lines_count})
            else:
                messages.warning(request, _("This file was already imported on %(date)s: nothing new was created.") % {
                    "date": statement.imported_at.date()})
            return redirect("payments:bank-statement", pk=statement.pk)
    imports = Paginator(StatementImport.objects.order_by("-id").annotate(
        review=Count("lines", filter=Q(lines__status__in=StatementLine.REVIEW))), 25).get_page(request.GET.get("page"))
    review = StatementLine.objects.filter(status__in=StatementLine.REVIEW).count()
    return render(request, "payments/bank.html", {"form": form, "page": imports, "review_count": review})


@role_required(WRITE)
def bank_statement(request, pk: int):
    statement = get_object_or_404(StatementImport, pk=pk)
    lines = statement.lines.select_related("payment", "account").prefetch_related("candidate_invoices")
    return render(request, "payments/bank_statement.html", {"statement": statement, "lines": lines})


@role_required(WRITE)
@require_POST
def bank_statement_retry(request, pk: int):
    """Send a statement whose matching stopped back to the workers."""
    statement = get_object_or_404(StatementImport, pk=pk)
    try:
        services.statement_match_again(statement=statement, actor=request.user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The lines not matched yet are being matched again."))
    return redirect("payments:bank-statement", pk=statement.pk)


@role_required(WRITE)
def bank_statement_progress(request, pk: int):
    """The matching progress block (HTMX polls it every 2 s); once matched, the whole page reloads."""
    statement = get_object_or_404(StatementImport, pk=pk)
    response = render(request, "payments/_statement_progress.html", {"statement": statement})
    if statement.status == StatementImport.Status.DONE and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@role_required(WRITE)
def bank_review(request):
    """Unmatched and ambiguous lines, oldest first, each with what the matcher found."""
    lines = StatementLine.objects.filter(status__in=StatementLine.REVIEW).select_related("statement", "account").prefetch_related(
        "candidate_invoices").order_by("booking_date", "id")
    page = Paginator(lines, 25).get_page(request.GET.get("page"))
    return render(request, "payments/bank_review.html", {"page": page, "accounts": Account.objects.order_by("name").only("pk", "name", "number")})


@role_required(WRITE)
def bank_line_resolve(request, pk: int):
    line = get_object_or_404(StatementLine, pk=pk)
    if request.method != "POST":
        return redirect("payments:bank-review")
    form = LineResolveForm(request.POST)
    today = clock.today()
    if not form.is_valid():
        messages.error(request, _("Choose what to do with the line."))
        return redirect("payments:bank-review")
    data = form.cleaned_data
    try:
        if data["action"] == "match":
            numbers = [n.strip() for n in (data["invoices"] or "").split(",") if n.strip()]
            numbers += request.POST.getlist("candidate")
            invoices = []
            for n in numbers:
                found = Invoice.objects.filter(Q(number__iexact=n) | Q(pk=int(n) if n.isdigit() else 0), status=Invoice.Status.POSTED).first()
                if found is None:
                    raise DomainError(_("No posted invoice %(number)s.") % {"number": n})
                if found not in invoices:
                    invoices.append(found)
            services.statement_line_match(line=line, invoices=invoices, today=today, actor=request.user)
        elif data["action"] == "assign":
            if data["account"] is None:
                raise DomainError(_("Choose the account that paid."))
            services.statement_line_assign(line=line, account=data["account"], today=today, actor=request.user)
        else:
            services.statement_line_ignore(line=line, actor=request.user, reason=data["reason"])
    except DomainError as exc:
        problems = [str(exc.message)] if not exc.fields else [m for msgs in exc.fields.values() for m in msgs]
        for problem in problems:
            messages.error(request, problem)
    else:
        messages.success(request, _("Line %(n)s resolved.") % {"n": line.line_no})
    return redirect("payments:bank-review")
