from importlib import import_module
from importlib.util import find_spec

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing_site.audit import audit_history
from billing_site.csv_export import csv_response
from billing_site.errors import DomainError
from billing_site.extensions import account_panels
from billing_site.forms import form_add_domain_error
from billing_site.pagination import page_of
from billing_site.roles import ALL, role_required
from customers import selectors, services
from customers.forms import AccountForm, ContactForm
from customers.models import Account, Contact

# Who may edit accounts: every role, a sales rep only the accounts they own; tax, currency, billing
# and credit fields stay finance's (both enforced by the service, see customers.services).
EDITORS = ALL


def _require_owner(request, account: Account) -> None:
    if not services.account_can_edit(account=account, user=request.user):
        raise PermissionDenied(_("Only the account's sales owner, finance or an admin can change this account."))

# Tabs of the account page. A later stage fills its tab by offering
# `<app>.selectors.account_tab(account=, user=)` → context and `<app>/account_tab.html`.
ACCOUNT_TABS = [
    ("overview", None, gettext_lazy("Overview")),
    ("quotes", "quotes", gettext_lazy("Quotes")),
    ("contracts", "contracts", gettext_lazy("Contracts")),
    ("invoices", "invoicing", gettext_lazy("Invoices")),
    ("payments", "payments", gettext_lazy("Payments")),
    ("activity", None, gettext_lazy("Activity")),
]


@role_required(ALL)
def account_list(request):
    """Accounts with search, filters, sort and pagination."""
    sort = request.GET.get("sort", "name")
    filterset, qs = selectors.account_list(params=request.GET, sort=sort)
    page = page_of(request, qs)
    return render(
        request, "customers/account_list.html", {"filter": filterset, "page": page, "sort": sort, "currencies": settings.CURRENCIES}
    )


@role_required(ALL)
def account_export(request):
    """The filtered account list as CSV."""
    _filterset, qs = selectors.account_list(params=request.GET, sort=request.GET.get("sort", "name"))
    header = [
        "number", "name", "legal_name", "status", "country", "city", "currency", "language", "tax_id",
        "tax_exempt", "payment_terms_days", "billing_day", "credit_limit", "credit_hold", "billing_emails",
        "sales_owner",
    ]
    rows = (
        [
            a.number, a.name, a.legal_name, a.status, a.country, a.city, a.currency, a.language, a.tax_id,
            a.tax_exempt, a.payment_terms_days, a.billing_day, f"{a.credit_limit_amount.normalize():f}", a.credit_hold,
            ", ".join(a.billing_email_list), a.sales_owner.get_username() if a.sales_owner else "",
        ]
        for a in qs.iterator(chunk_size=500)
    )
    return csv_response("accounts.csv", header, rows)


@role_required(ALL)
def account_detail(request, pk: int):
    """The account's header card and its tabs."""
    account = get_object_or_404(Account.objects.select_related("sales_owner"), pk=pk)
    tab = request.GET.get("tab", "overview")
    tabs = [(key, label) for key, _app, label in ACCOUNT_TABS]
    if tab not in dict(tabs):
        tab = "overview"
    context = {"account": account, "tabs": tabs, "tab": tab, "can_edit": services.account_can_edit(account=account, user=request.user)}
    # Panels above the tabs (the credit picture, revenue to date) are registered by later stages.
    context["panels"] = account_panels(account=account, user=request.user)
    if tab == "overview":
        context["contacts"] = account.contacts.all()
    elif tab == "activity":
        context["history"] = audit_history(account)[:200]
    else:
        app = dict((k, a) for k, a, _label in ACCOUNT_TABS)[tab]
        context["tab_template"] = None
        if find_spec(f"{app}.selectors"):
            module = import_module(f"{app}.selectors")
            if hasattr(module, "account_tab"):
                context.update(module.account_tab(account=account, user=request.user))
                context["tab_template"] = f"{app}/account_tab.html"
    return render(request, "customers/account_detail.html", context)


@role_required(ALL, write=EDITORS)
def account_create(request):
    form = AccountForm(request.POST or None, user=request.user, initial={"currency": "EUR", "country": "FR"})
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_create(actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Account %(name)s created.") % {"name": account.name})
            return redirect("customers:detail", pk=account.pk)
    return render(request, "customers/account_form.html", {"form": form, "account": None})


@role_required(ALL, write=EDITORS)
def account_edit(request, pk: int):
    account = get_object_or_404(Account, pk=pk)
    _require_owner(request, account)
    form = AccountForm(request.POST or None, instance=account, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in form.changed_data if f in form.cleaned_data}
        try:
            services.account_update(account=Account.objects.get(pk=pk), actor=request.user, data=data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Account %(name)s saved.") % {"name": form.cleaned_data["name"]})
            return redirect("customers:detail", pk=pk)
    return render(request, "customers/account_form.html", {"form": form, "account": account})


@role_required(ALL, write=EDITORS)
def contact_create(request, pk: int):
    account = get_object_or_404(Account, pk=pk)
    _require_owner(request, account)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_create(account=account, actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Contact added."))
            return redirect("customers:detail", pk=pk)
    return render(request, "customers/contact_form.html", {"form": form, "account": account, "contact": None})


@role_required(ALL, write=EDITORS)
def contact_edit(request, pk: int, contact_pk: int):
    contact = get_object_or_404(Contact.objects.select_related("account"), pk=contact_pk, account_id=pk)
    _require_owner(request, contact.account)
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(contact=contact, actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Contact saved."))
            return redirect("customers:detail", pk=pk)
    return render(request, "customers/contact_form.html", {"form": form, "account": contact.account, "contact": contact})


@role_required(ALL, write=EDITORS)
def contact_delete(request, pk: int, contact_pk: int):
    contact = get_object_or_404(Contact.objects.select_related("account"), pk=contact_pk, account_id=pk)
    _require_owner(request, contact.account)
    if request.method == "POST":
        services.contact_delete(contact=contact, actor=request.user)
        messages.success(request, _("Contact removed."))
    return redirect("customers:detail", pk=pk)
