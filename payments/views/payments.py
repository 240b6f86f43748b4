"""Payments: list, record, detail with allocations, refunds; invoice and credit note payment pages."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_history
from billing_site.csv_export import csv_response
from billing_site.errors import DomainError
from billing_site.forms import form_add_domain_error
from billing_site.money import format_money, round_money
from billing_site.pages import refusal_as_message
from billing_site.pagination import page_of
from billing_site.roles import role_required
from customers.models import Account
from invoicing.models import CreditNote, Invoice, InvoiceLine
from payments import selectors, services
from payments.forms import AllocateForm, CreditRefundForm, PaymentForm, RefundForm, UnallocateForm
from payments.models import Allocation, Payment, PaymentAttempt
from payments.selectors.balances import PaymentStatus
from payments.selectors.pages import payment_detail, payment_list
from payments.views._common import READ, WRITE


@role_required(READ)
def payment_index(request):
    """Payments with search, filters, sort and pagination."""
    sort = request.GET.get("sort", "-date")
    filterset, qs = payment_list(params=request.GET, sort=sort)
    page = page_of(request, qs)
    return render(request, "payments/payment_list.html", {"filter": filterset, "page": page, "sort": sort})


@role_required(READ)
def payment_export(request):
    """The filtered payment list as CSV."""
    _f, qs = payment_list(params=request.GET, sort=request.GET.get("sort", "-date"))
    header = ["id", "received_date", "account_number", "account", "currency", "amount", "allocated", "refunded",
              "unapplied", "method", "source", "reference"]
    rows = (
        [p.pk, p.received_date.isoformat(), p.account.number, p.account.name, p.currency, _plain(p.amount, p.currency),
         _plain(p.allocated_amount, p.currency), _plain(p.refunded_amount, p.currency), _plain(p.unapplied_amount, p.currency),
         p.method, p.source, p.reference]
        for p in qs.iterator(chunk_size=500)
    )
    return csv_response("payments.csv", header, rows)


def _plain(amount, currency):

    return str(round_money(amount, currency))


@role_required(READ, write=WRITE)
def payment_create(request):
    """Record a received payment (and allocate it oldest due first when asked)."""
    today = clock.today()
    initial = {"received_date": today, "currency": "EUR", "method": "bank_transfer", "auto_allocate": True}
    account_id = request.GET.get("account")
    if account_id and account_id.isdigit():
        account = Account.objects.filter(pk=account_id).first()
        if account:
            initial.update(account=account, currency=account.currency)
    form = PaymentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            payment = services.payment_record(
                account=data["account"], amount=data["amount"], currency=data["currency"], received_date=data["received_date"],
                method=data["method"], reference=data["reference"], notes=data["notes"], today=today, actor=request.user,
                auto_allocate=data["auto_allocate"],
            )
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Payment recorded: %(allocated)s allocated, %(unapplied)s unapplied.") % {
                "allocated": format_money(payment.allocated_amount, payment.currency),
                "unapplied": format_money(payment.unapplied_amount, payment.currency)})
            return redirect("payments:detail", pk=payment.pk)
    currencies = dict(Account.objects.values_list("pk", "currency"))
    return render(request, "payments/payment_form.html", {"form": form, "account_currencies": currencies})


@role_required(READ)
def payment_view(request, pk: int):
    """A payment: figures, allocation history, allocate / unallocate / auto-allocate, refund."""
    payment = get_object_or_404(Payment.objects.select_related("account", "created_by"), pk=pk)
    context = {"payment": payment, **payment_detail(payment=payment), "history": audit_history(payment)[:50],
               "allocate_form": AllocateForm(), "refund_form": RefundForm(),
               "attempt": PaymentAttempt.objects.filter(payment=payment).first()}
    return render(request, "payments/payment_detail.html", context)


def _act(request, payment, action):
    with refusal_as_message(request) as outcome:
        action()
    return not outcome.refused


@role_required(READ, write=WRITE)
def payment_allocate(request, pk: int):
    payment = get_object_or_404(Payment, pk=pk)
    if request.method != "POST":
        return redirect("payments:detail", pk=pk)
    form = AllocateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an invoice and an amount."))
        return redirect("payments:detail", pk=pk)
    invoice = get_object_or_404(Invoice, pk=form.cleaned_data["invoice"])
    line = None
    if form.cleaned_data.get("invoice_line"):
        line = get_object_or_404(InvoiceLine, pk=form.cleaned_data["invoice_line"])
    if _act(request, payment, lambda: services.payment_allocate(
            payment=payment, invoice=invoice, amount=form.cleaned_data["amount"], invoice_line=line,
            today=clock.today(), actor=request.user)):
        messages.success(request, _("%(amount)s allocated to %(invoice)s.") % {
            "amount": format_money(form.cleaned_data["amount"], payment.currency), "invoice": invoice})
    return redirect("payments:detail", pk=pk)


@role_required(READ, write=WRITE)
def payment_auto_allocate(request, pk: int):
    payment = get_object_or_404(Payment, pk=pk)
    if request.method == "POST":
        result = []
        if _act(request, payment, lambda: result.extend(services.payment_auto_allocate(payment=payment, today=clock.today(), actor=request.user))):
            if result:
                messages.success(request, _("Allocated to %(n)s invoices, oldest due first.") % {"n": len(result)})
            else:
                messages.warning(request, _("Nothing to allocate: no open invoice in this currency, or nothing unapplied."))
    return redirect("payments:detail", pk=pk)


@role_required(READ, write=WRITE)
def payment_unallocate(request, pk: int):
    payment = get_object_or_404(Payment, pk=pk)
    if request.method == "POST":
        form = UnallocateForm(request.POST)
        if form.is_valid():
            invoice = get_object_or_404(Invoice, pk=form.cleaned_data["invoice"])
            if _act(request, payment, lambda: services.payment_unallocate(
                    payment=payment, invoice=invoice, amount=form.cleaned_data.get("amount"), today=clock.today(), actor=request.user)):
                messages.success(request, _("Unallocated from %(invoice)s.") % {"invoice": invoice})
    return redirect("payments:detail", pk=pk)


def _form_errors(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _refund_confirm(request, *, source, amount, reason, method_label, action, back, hidden):
    """The step before a refund: how much leaves, to whom, how, and that it cannot be taken back."""
    currency = source.currency
    consequences = [
        _("%(amount)s is paid back to %(account)s (%(method)s), from %(source)s.") % {
            "amount": format_money(amount, currency), "account": source.account.name, "method": method_label, "source": source},
        _("Reason recorded: %(reason)s") % {"reason": reason},
        _("A refund is final: it cannot be cancelled or edited afterwards."),
    ]
    return render(request, "billing_site/confirm.html", {
        "title": _("Refund %(amount)s?") % {"amount": format_money(amount, currency)}, "consequences": consequences,
        "action": action, "back": back, "danger": True, "hidden": hidden,
        "confirm_label": _("Refund %(amount)s") % {"amount": format_money(amount, currency)},
    })


@role_required(READ, write=WRITE)
def payment_refund(request, pk: int):
    """Refund part of a payment's unapplied amount: a typed amount and a reason, then a confirmation."""
    payment = get_object_or_404(Payment.objects.select_related("account"), pk=pk)
    if request.method == "POST":
        form = RefundForm(request.POST)
        if not form.is_valid():
            _form_errors(request, form)
        elif request.POST.get("confirm") != "1":
            amount, reason = form.cleaned_data["amount"], form.cleaned_data["reason"]
            method = _("at the payment gateway") if payment.gateway_transaction_id else payment.get_method_display()
            return _refund_confirm(request, source=payment, amount=amount, reason=reason, method_label=method,
                                   action=reverse("payments:refund", args=[pk]), back=reverse("payments:detail", args=[pk]),
                                   hidden=[("amount", request.POST.get("amount", "")), ("reason", reason)])
        elif _act(request, payment, lambda: services.payment_refund(
                payment=payment, amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"],
                today=clock.today(), actor=request.user)):
            messages.success(request, _("%(amount)s refunded.") % {"amount": format_money(form.cleaned_data["amount"], payment.currency)})
    return redirect("payments:detail", pk=pk)


@role_required(READ)
def invoice_payments(request, pk: int):
    """An invoice as receivables see it: balance, status, every allocation, charge attempts, dunning."""
    invoice = get_object_or_404(selectors.invoices_with_balance(Invoice.objects.select_related("account")), pk=pk)
    context = {
        "invoice": invoice, "status_label": PaymentStatus.LABELS.get(invoice.pay_status),
        "status_tone": PaymentStatus.TONES.get(invoice.pay_status),
        "allocations": Allocation.objects.filter(invoice=invoice).select_related("payment", "credit_note", "invoice_line"),
        "attempts": invoice.payment_attempts.order_by("attempt_no"),
        "dunning": invoice.dunning_events.select_related("step").order_by("step__offset_days"),
        "credits": selectors.open_credit_notes(account=invoice.account, currency=invoice.currency),
        "unapplied_payments": Payment.objects.filter(account=invoice.account, currency=invoice.currency, unapplied_amount__gt=0),
        "lines": invoice.lines.all(),
    }
    return render(request, "payments/invoice_payments.html", context)


@role_required(READ, write=WRITE)
def invoice_charge(request, pk: int):
    invoice = get_object_or_404(Invoice, pk=pk)
    if request.method == "POST":
        with refusal_as_message(request):
            attempt = services.invoice_charge_now(invoice=invoice, today=clock.today(), actor=request.user)
            level = messages.success if attempt.status == PaymentAttempt.Status.SUCCEEDED else messages.warning
            level(request, _("Charge %(key)s: %(status)s %(message)s") % {
                "key": attempt.idempotency_key, "status": attempt.get_status_display(), "message": attempt.message})
    return redirect("payments:invoice", pk=pk)


@role_required(READ, write=WRITE)
def credit_note_view(request, pk: int):
    """A credit note's open balance: allocate it to invoices, take it back, or pay it out."""
    note = get_object_or_404(selectors.credit_notes_with_balance(CreditNote.objects.select_related("account")), pk=pk)
    if request.method == "POST":
        today, action = clock.today(), request.POST.get("action")
        if action == "allocate":
            form = AllocateForm(request.POST)
            if form.is_valid():
                invoice = get_object_or_404(Invoice, pk=form.cleaned_data["invoice"])
                if _act(request, note, lambda: services.credit_note_allocate(
                        credit_note=note, invoice=invoice, amount=form.cleaned_data["amount"], today=today, actor=request.user)):
                    messages.success(request, _("Credit allocated to %(invoice)s.") % {"invoice": invoice})
        elif action == "unallocate":
            invoice = get_object_or_404(Invoice, pk=request.POST.get("invoice") or 0)
            if _act(request, note, lambda: services.credit_note_unallocate(credit_note=note, invoice=invoice, today=today, actor=request.user)):
                messages.success(request, _("Unallocated from %(invoice)s.") % {"invoice": invoice})
        elif action == "refund":
            form = CreditRefundForm(request.POST)
            if not form.is_valid():
                _form_errors(request, form)
            elif request.POST.get("confirm") != "1":
                data = form.cleaned_data
                return _refund_confirm(request, source=note, amount=data["amount"], reason=data["reason"],
                                       method_label=dict(form.fields["method"].choices).get(data["method"], data["method"]),
                                       action=reverse("payments:credit-note", args=[pk]), back=reverse("payments:credit-note", args=[pk]),
                                       hidden=[("action", "refund"), ("amount", request.POST.get("amount", "")),
                                               ("reason", data["reason"]), ("method", data["method"])])
            elif _act(request, note, lambda: services.credit_note_refund(
                    credit_note=note, amount=form.cleaned_data["amount"], method=form.cleaned_data["method"],
                    reason=form.cleaned_data["reason"], today=today, actor=request.user)):
                messages.success(request, _("%(amount)s refunded.") % {"amount": format_money(form.cleaned_data["amount"], note.currency)})
        return redirect("payments:credit-note", pk=pk)
    context = {
        "note": note, "allocations": Allocation.objects.filter(credit_note=note).select_related("invoice"),
        "refunds": note.refunds.all(), "open_invoices": selectors.open_invoices(account=note.account, currency=note.currency),
        "refund_form": CreditRefundForm(),
    }
    return render(request, "payments/credit_note.html", context)
