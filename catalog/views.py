"""Catalog pages: read by every role, changed by finance and admins only."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from billing_site import clock
from billing_site.audit import audit_history
from billing_site.csv_export import csv_response
from billing_site.errors import DomainError
from billing_site.forms import form_add_domain_error
from billing_site.models import AuditLog
from billing_site.pagination import page_of
from billing_site.roles import ALL, FINANCE_ADMIN, role_required
from catalog import selectors, services
from catalog.forms import (
    BillingRuleForm,
    EntryForm,
    LegalEntityForm,
    PreviewForm,
    PriceBookForm,
    ProductFamilyForm,
    ProductForm,
    TaxRateFormSet,
    TaxRuleForm,
    TierFormSet,
    tax_rate_initial,
    tier_rows_from_post,
)
from catalog.models import (
    BillingRule,
    LegalEntity,
    PriceBook,
    PriceBookEntry,
    Product,
    ProductFamily,
    TaxRule,
)
from catalog.numbers import plain_text
from catalog.pricing import add_months
from catalog.pricing.price import TIER_MODELS

PAGE_SIZE = 25


def _changed(form) -> dict:
    return {f: form.cleaned_data[f] for f in form.changed_data if f in form.cleaned_data}


# --- products --------------------------------------------------------------------------------------


@role_required(ALL)
def product_list(request):
    """The catalog: search, filters (family, charge type, active, ready), sort, pagination."""
    sort = request.GET.get("sort", "name")
    filterset, products = selectors.product_list(params=request.GET, sort=sort)
    page = page_of(request, products, PAGE_SIZE)
    return render(
        request, "catalog/product_list.html",
        {"filter": filterset, "page": page, "sort": sort, "families": ProductFamily.objects.all()},
    )


@role_required(ALL)
def product_export(request):
    """The filtered catalog as CSV, with readiness and what is missing."""
    _filterset, products = selectors.product_list(params=request.GET, sort=request.GET.get("sort", "name"))
    header = [
        "sku", "name", "family", "charge_type", "billing_type", "billing_frequency_months", "default_term_months",
        "unit_of_measure", "billing_rule", "tax_rule", "active", "ready", "missing",
    ]
    rows = (
        [
            p.sku, p.name, p.family.name if p.family else "", p.charge_type, p.billing_type, p.billing_frequency,
            p.term_months, p.unit_of_measure, p.billing_rule.name if p.billing_rule else "",
            p.tax_rule.name if p.tax_rule else "", p.active, p.ready,
            " | ".join(f"{c.label}: {c.detail}" for c in p.missing),
        ]
        for p in products
    )
    return csv_response("catalog.csv", header, rows)


def _preview_defaults(product: Product, books) -> dict:
    start = clock.today()
    months = product.term_months if product.charge_type != Product.ChargeType.USAGE else product.billing_frequency * 3
    standard = next((b for b in books if b.is_standard), None) or (books[0] if books else None)
    return {
        "book": standard.pk if standard else None, "quantity": 1, "start": start,
        "end": add_months(anchor=start, months=months), "billing_day": 1,
    }


def _preview_form(product: Product, *args, **kwargs) -> PreviewForm:
    form = PreviewForm(*args, **kwargs)
    # The billing day only matters under a billing-day rule; the end never for one-time products.
    if product.billing_rule is None or product.billing_rule.period_boundary != BillingRule.Boundary.BILLING_DAY:
        form.fields["billing_day"].widget = forms.HiddenInput()
    if product.charge_type == Product.ChargeType.ONE_TIME:
        form.fields["end"].widget = forms.HiddenInput()
    return form


def _preview(request, product: Product):
    """(form, preview or None) for the preview params in the query string."""
    entries = PriceBookEntry.objects.filter(product=product, active=True).select_related("price_book")
    books = PriceBook.objects.filter(pk__in=entries.values("price_book")).order_by("currency", "name")
    if "quantity" not in request.GET:
        return _preview_form(product, books=books, initial=_preview_defaults(product, list(books))), None
    form = _preview_form(product, request.GET, books=books)
    if not form.is_valid():
        return form, None
    entry = selectors.entry_for(product=product, price_book=form.cleaned_data["book"])
    if entry is None:
        form.add_error("book", _("No active price in this book."))
        return form, None
    try:
        preview = selectors.pricing_preview(
            entry=entry, quantity=form.cleaned_data["quantity"], start=form.cleaned_data["start"],
            end=form.cleaned_data["end"], billing_day=form.cleaned_data["billing_day"],
        )
    except DomainError as exc:
        form_add_domain_error(form, exc)
        return form, None
    return form, preview


@role_required(ALL)
def product_detail(request, pk: int):
    """Facts, launch checklist, prices per book with their tiers, the price preview and the history."""
    product = get_object_or_404(Product.objects.select_related("family", "billing_rule__legal_entity", "tax_rule"), pk=pk)
    form, preview = _preview(request, product)
    entry_ids = list(product.entries.values_list("pk", flat=True))
    history = AuditLog.objects.filter(
        Q(object_type="catalog.product", object_id=str(product.pk))
        | Q(object_type="catalog.pricebookentry", object_id__in=[str(i) for i in entry_ids])
    ).select_related("actor")[:50]
    context = {"product": product, "preview_form": form, "preview": preview, "history": history}
    context.update(selectors.product_detail(product=product))
    return render(request, "catalog/product_detail.html", context)


@role_required(ALL)
@require_GET
def pricing_preview(request, pk: int):
    """The preview breakdown alone (HTMX swaps it into the product page)."""
    product = get_object_or_404(Product.objects.select_related("billing_rule"), pk=pk)
    form, preview = _preview(request, product)
    return render(request, "catalog/_preview.html", {"product": product, "preview_form": form, "preview": preview})


@role_required(FINANCE_ADMIN)
def product_create(request):
    form = ProductForm(request.POST or None, initial={"unit_of_measure": "unit"})
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Product %(name)s created.") % {"name": product.name})
            return redirect("catalog:product-detail", pk=product.pk)
    return render(request, "catalog/product_form.html", {"form": form, "product": None})


@role_required(FINANCE_ADMIN)
def product_edit(request, pk: int):
    product = get_object_or_404(Product, pk=pk)
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(product=Product.objects.get(pk=pk), actor=request.user, data=_changed(form))
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Product %(name)s saved.") % {"name": form.cleaned_data["name"]})
            return redirect("catalog:product-detail", pk=pk)
    return render(request, "catalog/product_form.html", {"form": form, "product": Product.objects.get(pk=pk)})


# --- price book entries and the tier editor ---------------------------------------------------------


def _entry_initial(entry: PriceBookEntry | None, book: PriceBook | None) -> tuple[dict, list[dict]]:
    if entry is None:
        return {"price_book": book.pk if book else None, "currency": book.currency if book else None, "active": True}, [{}]
    initial = {
        "pricing_model": entry.pricing_model, "currency": entry.price_book.currency,
        "unit_price": plain_text(entry.unit_price.amount) if entry.unit_price is not None else None,
        "package_size": plain_text(entry.package_size), "free_units": plain_text(entry.free_units) if entry.free_units else None,
        "recognition_rule": entry.recognition_rule, "active": entry.active,
    }
    tiers = [
        {
            "lower": plain_text(t.lower), "upper": plain_text(t.upper), "unit_price": plain_text(t.unit_price),
            "flat_fee": plain_text(t.flat_fee) if t.flat_fee else None,
        }
        for t in entry.tiers.order_by("lower")
    ]
    return initial, tiers or [{}]


def _entry_form(request, product: Product, entry: PriceBookEntry | None):
    """Create or edit a price with its tier table. `tier_action` (add / remove-N) only re-renders the
    editor with one row more or less, so the editor works the same with HTMX and without JavaScript."""
    priced = product.entries.values("price_book")
    books = PriceBook.objects.exclude(pk__in=priced) if entry is None else None
    fixed_book = entry.price_book if entry else None
    tier_errors: list[str] = []
    action = request.POST.get("tier_action", "") if request.method == "POST" else ""
    if action:
        rows = tier_rows_from_post(request.POST)
        if action == "add":
            rows.append({})
        elif action.startswith("remove-") and action[7:].isdigit() and int(action[7:]) < len(rows):
            del rows[int(action[7:])]
        initial = {k: v for k, v in request.POST.items() if k in EntryForm.base_fields}
        initial["active"] = "active" in request.POST
        form = EntryForm(initial=initial, books=books, fixed_book=fixed_book)
        formset = TierFormSet(prefix="tiers", initial=rows or [{}])
        context = {"product": product, "entry": entry, "form": form, "formset": formset, "tier_errors": []}
        if request.htmx:
            return render(request, "catalog/_tier_editor.html", context)
        return render(request, "catalog/entry_form.html", context)
    if request.method == "POST":
        form = EntryForm(request.POST, books=books, fixed_book=fixed_book)
        formset = TierFormSet(request.POST, prefix="tiers")
        if form.is_valid() and formset.is_valid():
            model = form.cleaned_data["pricing_model"]
            book = fixed_book or form.cleaned_data["price_book"]
            try:
                services.entry_save(
                    actor=request.user, product=product, price_book=book, entry=entry,
                    data=form.service_data(), tiers=formset.rows() if model in TIER_MODELS else [],
                )
            except DomainError as exc:
                tier_errors = exc.fields.pop("tiers", [])
                if exc.fields or not tier_errors:
                    form_add_domain_error(form, exc)
            else:
                messages.success(request, _("Price in %(book)s saved.") % {"book": book.name})
                return redirect("catalog:product-detail", pk=product.pk)
    else:
        book = None
        if entry is None and request.GET.get("book", "").isdigit():
            book = PriceBook.objects.filter(pk=request.GET["book"]).first()
        initial, tiers = _entry_initial(entry, book)
        form = EntryForm(initial=initial, books=books, fixed_book=fixed_book)
        formset = TierFormSet(prefix="tiers", initial=tiers)
    context = {"product": product, "entry": entry, "form": form, "formset": formset, "tier_errors": tier_errors}
    return render(request, "catalog/entry_form.html", context)


@role_required(FINANCE_ADMIN)
def entry_create(request, pk: int):
    product = get_object_or_404(Product, pk=pk)
    return _entry_form(request, product, None)


@role_required(FINANCE_ADMIN)
def entry_edit(request, pk: int, entry_pk: int):
    entry = get_object_or_404(PriceBookEntry.objects.select_related("product", "price_book"), pk=entry_pk, product_id=pk)
    return _entry_form(request, entry.product, entry)


# --- price books -----------------------------------------------------------------------------------


@role_required(ALL)
def price_book_list(request):
    books = PriceBook.objects.select_related("legal_entity").annotate(
        entry_count=Count("entries", filter=Q(entries__active=True)),
        product_count=Count("entries__product", filter=Q(entries__product__active=True), distinct=True),
    )
    return render(request, "catalog/price_book_list.html", {"books": books})


@role_required(ALL)
def price_book_detail(request, pk: int):
    book = get_object_or_404(PriceBook.objects.select_related("legal_entity"), pk=pk)
    entries = (
        book.entries.select_related("product", "product__family").prefetch_related("tiers")
        .order_by("product__name")
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    history = audit_history(book)[:20]
    return render(request, "catalog/price_book_detail.html", {"book": book, "page": page, "history": history})


def _simple_form(request, *, form, template_context: dict, save, success_message, success_url):
    if request.method == "POST" and form.is_valid():
        try:
            obj = save(form)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, success_message % {"name": str(obj)})
            return redirect(success_url(obj))
    return render(request, "catalog/simple_form.html", {"form": form, **template_context})


@role_required(FINANCE_ADMIN)
def price_book_create(request):
    return _simple_form(
        request, form=PriceBookForm(request.POST or None, initial={"active": True}),
        template_context={"title": _("New price book"), "cancel_url": "catalog:price-books"},
        save=lambda f: services.price_book_create(actor=request.user, data=f.cleaned_data),
        success_message=_("Price book %(name)s saved."),
        success_url=lambda obj: reverse("catalog:price-book-detail", args=[obj.pk]),
    )


@role_required(FINANCE_ADMIN)
def price_book_edit(request, pk: int):
    book = get_object_or_404(PriceBook, pk=pk)
    return _simple_form(
        request, form=PriceBookForm(request.POST or None, instance=book),
        template_context={"title": _("Edit %(name)s") % {"name": book.name}, "cancel_url": "catalog:price-books"},
        save=lambda f: services.price_book_update(price_book=PriceBook.objects.get(pk=pk), actor=request.user, data=_changed(f)),
        success_message=_("Price book %(name)s saved."),
        success_url=lambda obj: reverse("catalog:price-book-detail", args=[obj.pk]),
    )


# --- reference data: legal entities, tax rules, billing rules, families ----------------------------


REFERENCE = {
    "legal-entities": {
        "model": LegalEntity, "form": LegalEntityForm, "create": services.legal_entity_create,
        "update": services.legal_entity_update, "kw": "legal_entity",
        "title": _("Legal entities"), "new": _("New legal entity"),
        "columns": [("name", _("Name")), ("country", _("Country")), ("currency", _("Currency")),
                    ("tax_id", _("Tax / VAT id")), ("invoice_prefix", _("Invoice prefix")),
                    ("credit_note_prefix", _("Credit note prefix")), ("active", _("Active"))],
        "initial": {"active": True},
    },
    "billing-rules": {
        "model": BillingRule, "form": BillingRuleForm, "create": services.billing_rule_create,
        "update": services.billing_rule_update, "kw": "billing_rule",
        "title": _("Billing rules"), "new": _("New billing rule"),
        "columns": [("name", _("Name")), ("legal_entity", _("Legal entity")), ("get_period_boundary_display", _("Period boundary")),
                    ("get_day_count_display", _("Day count")), ("get_invoice_grouping_display", _("Invoice grouping")),
                    ("generate_invoices", _("Generate invoices")), ("net_amendments", _("Net amendments"))],
        "initial": {"generate_invoices": True, "net_amendments": True},
    },
    "families": {
        "model": ProductFamily, "form": ProductFamilyForm, "create": services.product_family_create,
        "update": services.product_family_update, "kw": "family",
        "title": _("Product families"), "new": _("New family"),
        "columns": [("name", _("Name")), ("approval_discount_percent", _("Discount needing approval above (%)"))],
        "initial": {},
    },
}


def _reference_rows(kind: str):
    config = REFERENCE[kind]
    qs = config["model"].objects.all()
    if kind == "billing-rules":
        qs = qs.select_related("legal_entity")
    rows = []
    for obj in qs:
        cells = []
        for attr, _label in config["columns"]:
            value = getattr(obj, attr)
            cells.append(value() if callable(value) else value)
        rows.append((reverse(f"catalog:{kind}-edit", args=[obj.pk]), cells))
    return rows


@role_required(ALL)
def reference_list(request, kind: str):
    config = REFERENCE[kind]
    return render(
        request, "catalog/reference_list.html",
        {
            "kind": kind, "config": config, "rows": _reference_rows(kind), "new_url": reverse(f"catalog:{kind}-create"),
            "headers": [label for _a, label in config["columns"]],
        },
    )


@role_required(FINANCE_ADMIN)
def reference_create(request, kind: str):
    config = REFERENCE[kind]
    return _simple_form(
        request, form=config["form"](request.POST or None, initial=config["initial"]),
        template_context={"title": config["new"], "cancel_url": f"catalog:{kind}"},
        save=lambda f: config["create"](actor=request.user, data=f.cleaned_data),
        success_message=_("%(name)s saved."), success_url=lambda obj: f"catalog:{kind}",
    )


@role_required(FINANCE_ADMIN)
def reference_edit(request, kind: str, pk: int):
    config = REFERENCE[kind]
    obj = get_object_or_404(config["model"], pk=pk)
    return _simple_form(
        request, form=config["form"](request.POST or None, instance=obj),
        template_context={"title": _("Edit %(name)s") % {"name": obj}, "cancel_url": f"catalog:{kind}", "object": obj},
        save=lambda f: config["update"](**{config["kw"]: config["model"].objects.get(pk=pk)}, actor=request.user, data=_changed(f)),
        success_message=_("%(name)s saved."), success_url=lambda o: f"catalog:{kind}",
    )


@role_required(ALL)
def tax_rule_list(request):
    rules = TaxRule.objects.prefetch_related("rates__legal_entity")
    return render(request, "catalog/tax_rule_list.html", {"rules": rules})


def _tax_rule_form(request, rule: TaxRule | None):
    form = TaxRuleForm(request.POST or None, instance=rule, initial={"taxable": True} if rule is None else None)
    rates = TaxRateFormSet(request.POST or None, prefix="rates", initial=tax_rate_initial(rule))
    rate_errors: list[str] = []
    if request.method == "POST" and form.is_valid() and rates.is_valid():
        try:
            if rule is None:
                rule = services.tax_rule_create(actor=request.user, data=form.cleaned_data, rates=rates.rows())
            else:
                rule = services.tax_rule_update(
                    tax_rule=TaxRule.objects.get(pk=rule.pk), actor=request.user, data=_changed(form), rates=rates.rows()
                )
        except DomainError as exc:
            rate_errors = exc.fields.pop("rates", [])
            if exc.fields or not rate_errors:
                form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Tax rule %(name)s saved.") % {"name": rule.name})
            return redirect("catalog:tax-rules")
    return render(request, "catalog/tax_rule_form.html", {"form": form, "rates": rates, "rate_errors": rate_errors, "rule": rule})


@role_required(FINANCE_ADMIN)
def tax_rule_create(request):
    return _tax_rule_form(request, None)


@role_required(FINANCE_ADMIN)
def tax_rule_edit(request, pk: int):
    return _tax_rule_form(request, get_object_or_404(TaxRule, pk=pk))

