"""Contract pages: lists, the contract timeline, orders and activation, the amendment wizard."""

import datetime as dt
import hashlib

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing_site import clock
from billing_site.audit import audit_history
from billing_site.csv_export import csv_response
from billing_site.errors import DomainError
from billing_site.forms import form_add_domain_error
from billing_site.money import round_money
from billing_site.pages import refusal_as_message
from billing_site.pagination import page_of
from billing_site.roles import ALL, FINANCE_ADMIN, is_finance, role_required
from contracts import selectors, services
from contracts.forms import AmendmentForm, OrderForm, OrderProductForm
from contracts.models import Contract, Order, OrderProduct
from contracts.services import AmendmentRequest


@role_required(ALL)
def contract_list(request):
    """Contracts with filters (status, account, ending before), sort, pagination."""
    sort = request.GET.get("sort", "-start")
    filterset, qs = selectors.contract_list(params=request.GET, sort=sort)
    page = page_of(request, qs)
    return render(request, "contracts/contract_list.html", {"filter": filterset, "page": page, "sort": sort,
                                                            "statuses": Contract.Status.choices})


@role_required(ALL)
def contract_export(request):
    """The filtered contract list as CSV."""
    _filterset, qs = selectors.contract_list(params=request.GET, sort=request.GET.get("sort", "-start"))
    header = ["number", "account_number", "account", "status", "currency", "start_date", "end_date_excluded",
              "term_months", "evergreen", "auto_renew", "cancelled_on", "active_subscriptions"]
    rows = (
        [c.number, c.account.number, c.account.name, c.status, c.currency, c.start_date, c.end_date or "", c.term_months,
         c.evergreen, c.auto_renew, c.cancelled_on or "", c.subscription_count]
        for c in qs.iterator(chunk_size=500)
    )
    return csv_response("contracts.csv", header, rows)


@role_required(ALL)
def contract_detail(request, pk: int):
    """The contract's timeline: subscriptions, schedules billed and to bill, orders and amendments."""
    contract = get_object_or_404(Contract.objects.select_related("account", "order", "renewed_by", "renewal_quote", "price_book"), pk=pk)
    timeline = selectors.contract_timeline(contract=contract)
    return render(request, "contracts/contract_detail.html", {
        "contract": contract, "timeline": timeline, "history": audit_history(contract)[:50],
        "can_amend": is_finance(request.user) and contract.status in (Contract.Status.ACTIVE, Contract.Status.RENEWED),
        "show_cancelled": request.GET.get("cancelled") == "1",
    })


@role_required(FINANCE_ADMIN)
def contract_amend(request, pk: int):
    """The amendment wizard: choose the change, preview every cancellation, credit and charge, confirm."""
    contract = get_object_or_404(Contract.objects.select_related("account", "price_book"), pk=pk)
    initial = {"effective_date": clock.today(), "type": request.GET.get("type", "add_quantity")}
    if request.GET.get("subscription"):
        initial["subscription"] = request.GET["subscription"]
    form = AmendmentForm(request.POST or None, contract=contract, initial=initial)
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        amendment = AmendmentRequest(
            type=data["type"], effective_date=data["effective_date"], subscription=data["subscription"],
            quantity=data["quantity"], unit_price=data["unit_price"], product=data["product"],
        )
        token = _preview_token(contract, data)
        try:
            # Confirm applies only what was previewed: a changed input gets a fresh preview first.
            if request.POST.get("action") == "confirm" and request.POST.get("preview_token") == token:
                order = services.contract_amend(contract=contract, request=amendment, actor=request.user, today=clock.today())
                messages.success(request, _("Amendment %(order)s applied.") % {"order": order.number})
                return redirect("contracts:detail", pk=contract.pk)
            if request.POST.get("action") == "confirm":
                messages.warning(request, _("The change was edited after its preview: check this preview, then confirm."))
            preview = services.contract_amendment_preview(contract=contract, request=amendment, today=clock.today())
        except DomainError as exc:
            form_add_domain_error(form, exc)
    context = {"contract": contract, "form": form, "preview": preview,
               "preview_token": _preview_token(contract, form.cleaned_data) if preview else ""}
    if request.htmx and request.method == "POST":
        return render(request, "contracts/_amendment_panel.html", context)
    return render(request, "contracts/amendment_form.html", context)


def _preview_token(contract, data) -> str:
    parts = [contract.pk, data.get("type"), data.get("effective_date"), getattr(data.get("subscription"), "pk", None),
             data.get("quantity"), data.get("unit_price"), getattr(data.get("product"), "pk", None)]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


@role_required(FINANCE_ADMIN)
@require_POST
def contract_renew(request, pk: int):
    """Renew now: a new contract (auto-renew) or a renewal quote."""
    contract = get_object_or_404(Contract, pk=pk)
    with refusal_as_message(request) as outcome:
        result = services.contract_renew(contract=contract, actor=request.user, today=clock.today())
    if outcome.refused:
        return redirect("contracts:detail", pk=pk)
    if isinstance(result, Contract):
        messages.success(request, _("Renewed as %(number)s.") % {"number": result.number})
        return redirect("contracts:detail", pk=result.pk)
    messages.success(request, _("Renewal quote %(quote)s created.") % {"quote": result})
    return redirect("contracts:detail", pk=pk)


@role_required(ALL)
def order_list(request):
    sort = request.GET.get("sort", "-created")
    filterset, qs = selectors.order_list(params=request.GET, sort=sort)
    page = page_of(request, qs)
    return render(request, "contracts/order_list.html", {"filter": filterset, "page": page, "sort": sort})


@role_required(FINANCE_ADMIN)
def order_create(request):
    """Finance creates an order directly (without a quote)."""
    initial = {"start_date": clock.today(), "term_months": 12}
    if request.GET.get("account"):
        initial["account"] = request.GET["account"]
    form = OrderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_create(actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Order %(number)s created: add its products.") % {"number": order.number})
            return redirect("contracts:order-detail", pk=order.pk)
    return render(request, "contracts/order_form.html", {"form": form})


@role_required(ALL, write=FINANCE_ADMIN)
def order_detail(request, pk: int):
    order = get_object_or_404(Order.objects.select_related("account", "price_book", "contract", "quote"), pk=pk)
    return _order_page(request, order, OrderProductForm(order=order))


def _order_page(request, order, product_form, status=200):
    products = list(order.products.select_related("product", "subscription").order_by("id"))
    total = round_money(sum((p.total_amount for p in products), 0), order.currency)
    contract = Contract.objects.filter(order=order).first()
    return render(request, "contracts/order_detail.html", {
        "order": order, "products": products, "total": total, "product_form": product_form, "created_contract": contract,
        "can_edit": is_finance(request.user) and order.status == Order.Status.DRAFT,
        "history": audit_history(order)[:50],
    }, status=status)


@role_required(FINANCE_ADMIN)
def order_product_add(request, pk: int):
    order = get_object_or_404(Order.objects.select_related("account", "price_book", "contract", "quote"), pk=pk)
    if request.method != "POST":
        return redirect("contracts:order-detail", pk=pk)
    form = OrderProductForm(request.POST, order=order)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.order_product_add(order=order, actor=request.user, **data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("%(product)s added.") % {"product": data["product"].name})
            return redirect("contracts:order-detail", pk=pk)
    return _order_page(request, order, form, status=400)


@role_required(FINANCE_ADMIN)
@require_POST
def order_product_remove(request, pk: int, product_pk: int):
    op = get_object_or_404(OrderProduct, pk=product_pk, order_id=pk)
    with refusal_as_message(request):
        services.order_product_remove(order_product=op, actor=request.user)
    return redirect("contracts:order-detail", pk=pk)


@role_required(FINANCE_ADMIN)
@require_POST
def order_activate(request, pk: int):
    """Activate the order: contract, subscriptions and billing schedule (a second click changes nothing)."""
    order = get_object_or_404(Order, pk=pk)
    with refusal_as_message(request) as outcome:
        contract = services.order_activate(order=order, actor=request.user, today=clock.today())
    if outcome.refused:
        return redirect("contracts:order-detail", pk=pk)
    messages.success(request, _("Order %(order)s activated: contract %(contract)s.") % {"order": order.number, "contract": contract.number})
    return redirect("contracts:detail", pk=contract.pk)


@role_required(ALL)
@require_POST
def quote_accept(request, pk: int):
    """Accept a quote: its draft order, prices copied exactly (a second click opens the same order)."""
    from quotes.models import Quote

    quote = get_object_or_404(Quote, pk=pk)
    with refusal_as_message(request) as outcome:
        order = services.order_create_from_quote(quote=quote, actor=request.user)
    if outcome.refused:
        return redirect("contracts:orders")
    messages.success(request, _("Quote %(quote)s accepted: order %(order)s.") % {"quote": quote, "order": order.number})
    return redirect("contracts:order-detail", pk=order.pk)


@role_required(ALL, write=FINANCE_ADMIN)
def delivery_list(request):
    """What is due, late or delivered; finance confirms deliveries here."""
    status = request.GET.get("status", "due")
    if status not in selectors.DELIVERY_STATUSES:
        status = "due"
    today = clock.today()
    qs = selectors.delivery_list(status=status, today=today)
    if request.GET.get("format") == "csv":
        header = ["order", "account", "product", "quantity", "due_date", "delivered_date", "delivered_by", "late"]
        rows = ([op.order.number, op.order.account.name, op.product.sku, op.quantity, op.delivery_due_date or "",
                 op.delivered_date or "", op.delivered_by or "", op.delivered_late if op.delivered_date else
                 bool(op.delivery_due_date and op.delivery_due_date < today)] for op in qs.iterator(chunk_size=500))
        return csv_response("deliveries.csv", header, rows)
    page = page_of(request, qs, per_page=50)
    return render(request, "contracts/delivery_list.html", {
        "page": page, "status": status, "today": today, "statuses": selectors.DELIVERY_STATUSES,
        "can_deliver": is_finance(request.user),
    })


@role_required(FINANCE_ADMIN)
@require_POST
def order_product_deliver(request, pk: int):
    """Confirm a delivery (the date defaults to today)."""
    op = get_object_or_404(OrderProduct, pk=pk)
    raw = request.POST.get("delivered_date") or ""
    try:
        day = dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        messages.error(request, _("Enter a valid date."))
        return redirect("contracts:deliveries")
    with refusal_as_message(request):
        services.order_product_deliver(order_product=op, actor=request.user, delivered_date=day)
        messages.success(request, _("%(product)s delivered.") % {"product": op.product.name})
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("contracts:deliveries")
