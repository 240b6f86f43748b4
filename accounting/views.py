"""The books' pages: periods with close/reopen, chart of accounts, trial balance, exports, revenue reports."""

import datetime as dt

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounting import selectors, services
from accounting.exports import fec_response
from accounting.forms import ChartAccountForm, EntityForm, ExportForm, ReopenForm, ReportForm, ReverseForm
from accounting.models import ChartAccount, FinancePeriod, JournalEntry
from billing_site import clock
from billing_site.csv_export import csv_response
from billing_site.errors import DomainError
from billing_site.money import format_money, format_number
from billing_site.pages import refusal_as_message
from billing_site.pagination import page_of
from billing_site.roles import FINANCE_ADMIN, Role, role_required
from catalog.models import LegalEntity
from payments.charts import bar_chart

READ = FINANCE_ADMIN
ADMIN_ONLY = frozenset({Role.ADMIN})


def _entity(request) -> LegalEntity | None:
    form = EntityForm(request.GET or None)
    if form.is_valid() and form.cleaned_data.get("legal_entity"):
        return form.cleaned_data["legal_entity"]
    return LegalEntity.objects.order_by("id").first()


@role_required(READ)
def index(request):
    """The finance periods of one legal entity, with close and reopen."""
    entity = _entity(request)
    periods, counts = [], {}
    if entity is not None:
        services.books_ensure(legal_entity=entity)
        periods = list(selectors.periods_for(legal_entity=entity))
        counts = selectors.entries_count_by_period(legal_entity=entity)
    first_open = min((p.start_date for p in periods if not p.is_closed), default=None)
    last_closed = max((p.start_date for p in periods if p.is_closed), default=None)
    rows = [
        {"period": p, "entries": counts.get(p.pk, 0), "can_close": p.start_date == first_open,
         "can_reopen": p.start_date == last_closed}
        for p in periods
    ]
    return render(request, "accounting/index.html", {
        "entity": entity, "rows": rows, "form": EntityForm(initial={"legal_entity": entity}), "today": clock.today(),
    })


@role_required(READ)
@require_POST
def process(request):
    """Journal what was posted since the last pass (the beat does it every ten minutes)."""
    result = services.books_process(today=clock.today())
    messages.success(request, _("Journaled %(invoices)s invoices, %(credit_notes)s credit notes, %(payments)s payments and "
                                "%(refunds)s refunds.") % result)
    return redirect("accounting:index")


@role_required(READ)
def period_close(request, pk: int):
    """Preview then close: what is still to journal and recognize, the checks, then Confirm."""
    period = get_object_or_404(FinancePeriod.objects.select_related("legal_entity"), pk=pk)
    if request.method == "POST":
        with refusal_as_message(request) as outcome:
            services.period_close(period=period, actor=request.user, today=clock.today())
        if outcome.refused:
            return redirect("accounting:close", pk=period.pk)
        messages.success(request, _("The period %(name)s is closed.") % {"name": period.name})
        return redirect(f"{_index_url()}?legal_entity={period.legal_entity_id}")
    check = services.period_check(period=period)
    return render(request, "accounting/period_close.html", {"period": period, "check": check})


def _index_url():
    from django.urls import reverse

    return reverse("accounting:index")


@role_required(READ, write=ADMIN_ONLY)
def period_reopen(request, pk: int):
    """Admin only: says what reopening changes, then reopens with a reason (audited)."""
    period = get_object_or_404(FinancePeriod.objects.select_related("legal_entity"), pk=pk)
    form = ReopenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with refusal_as_message(request):
            services.period_reopen(period=period, actor=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("The period %(name)s is open again.") % {"name": period.name})
            return redirect(f"{_index_url()}?legal_entity={period.legal_entity_id}")
    preview = services.period_reopen_preview(period=period)
    return render(request, "accounting/period_reopen.html", {"period": period, "preview": preview, "form": form,
                                                              "is_admin_user": Role.ADMIN in getattr(request.user, "_recur_roles", ())})


@role_required(READ)
def chart(request):
    """The chart of accounts of one legal entity."""
    entity = _entity(request)
    accounts = []
    if entity is not None:
        services.books_ensure(legal_entity=entity)
        accounts = ChartAccount.objects.filter(legal_entity=entity).order_by("code")
    return render(request, "accounting/chart.html", {"entity": entity, "accounts": accounts,
                                                     "form": EntityForm(initial={"legal_entity": entity})})


@role_required(READ)
def chart_edit(request, pk: int):
    account = get_object_or_404(ChartAccount, pk=pk)
    form = ChartAccountForm(request.POST or None, instance=ChartAccount(code=account.code, name=account.name))
    if request.method == "POST" and form.is_valid():
        try:
            services.chart_account_update(account=account, data=form.cleaned_data, actor=request.user)
        except DomainError as exc:
            for field, errors in exc.fields.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("Account %(code)s saved.") % {"code": account.code})
            return redirect(f"{_chart_url()}?legal_entity={account.legal_entity_id}")
    return render(request, "accounting/chart_edit.html", {"account": account, "form": form})


def _chart_url():
    from django.urls import reverse

    return reverse("accounting:chart")


@role_required(READ)
def trial_balance(request, pk: int):
    period = get_object_or_404(FinancePeriod.objects.select_related("legal_entity"), pk=pk)
    return render(request, "accounting/trial_balance.html", {"period": period, "tb": selectors.trial_balance(period=period)})


@role_required(READ)
def trial_balance_export(request, pk: int):
    period = get_object_or_404(FinancePeriod, pk=pk)
    tb = selectors.trial_balance(period=period)
    rows = ([r["code"], r["name"], f"{r['opening']:.2f}", f"{r['debit']:.2f}", f"{r['credit']:.2f}", f"{r['closing']:.2f}"]
            for r in tb["rows"])
    return csv_response(f"trial-balance-{period.name}.csv", ["account", "name", "opening", "debit", "credit", "closing"], rows)


def _export_params(request):
    form = ExportForm(request.GET)
    if not form.is_valid():
        return form, None, None, None
    entity, year = form.cleaned_data["legal_entity"], form.cleaned_data["year"]
    return form, entity, dt.date(year, 1, 1), dt.date(year + 1, 1, 1)


@role_required(READ)
def exports(request):
    """The accountant's exports: FEC and journal CSV per legal entity and fiscal year."""
    form = ExportForm(request.GET or None, initial={"legal_entity": LegalEntity.objects.order_by("id").first(),
                                                    "year": clock.today().year})
    return render(request, "accounting/exports.html", {"form": form})


@role_required(READ)
def fec_export(request):
    """The FEC of one legal entity and fiscal year, streamed (memory stays flat)."""
    form, entity, start, end = _export_params(request)
    if entity is None:
        return render(request, "accounting/exports.html", {"form": form}, status=400)
    return fec_response(legal_entity=entity, start=start, end=end)


@role_required(READ)
def journal_export(request):
    form, entity, start, end = _export_params(request)
    if entity is None:
        return render(request, "accounting/exports.html", {"form": form}, status=400)
    return csv_response(f"journal-{start.year}.csv", selectors.JOURNAL_CSV_COLUMNS,
                        selectors.journal_rows(legal_entity=entity, start=start, end=end))


def _report_params(request):
    form = ReportForm(request.GET or None)
    currency, year = form.values(clock.today())
    return form, currency, dt.date(year, 1, 1), dt.date(year + 1, 1, 1)


@role_required(READ)
def revenue(request):
    """Recognized vs deferred by month, the deferred roll-forward, the waterfall and MRR/ARR."""
    form, currency, start, end = _report_params(request)
    months = selectors.revenue_by_month(currency=currency, start=start, end=end)
    fall = selectors.waterfall(currency=currency, start=start, end=end)
    mrr = selectors.mrr_by_month(currency=currency, start=start, end=end)
    by_product = selectors.mrr_breakdown(currency=currency, start=start, end=end, by="product")
    label = lambda d: formats.date_format(d, "M y")  # noqa: E731
    number = lambda v: format_number(v, None, 0)  # noqa: E731
    chart_svg = bar_chart(
        title=_("Recognized vs deferred"), labels=[label(r["month"]) for r in months],
        series=[(_("Recognized"), [r["recognized"] for r in months], "s-billed"),
                (_("Deferred at month end"), [r["deferred"] for r in months], "s-collected")],
        value_format=number,
    )
    mrr_svg = bar_chart(title=_("MRR"), labels=[label(r["month"]) for r in mrr],
                        series=[(_("MRR"), [r["mrr"] for r in mrr], "s-billed")], value_format=number)
    return render(request, "accounting/revenue.html", {
        "form": form, "currency": currency, "year": start.year, "months": months, "waterfall": fall, "mrr": mrr,
        "chart": chart_svg, "mrr_chart": mrr_svg, "by_product": by_product, "money": lambda v: format_money(v, currency),
    })


@role_required(READ)
def revenue_export(request):
    _form, currency, start, end = _report_params(request)
    rows = ([r["month"].isoformat(), f"{r['opening']:.2f}", f"{r['billed']:.2f}", f"{r['recognized']:.2f}", f"{r['deferred']:.2f}"]
            for r in selectors.revenue_by_month(currency=currency, start=start, end=end))
    return csv_response(f"revenue-{currency}-{start.year}.csv", ["month", "opening_deferred", "billed", "recognized",
                                                                 "closing_deferred"], rows)


@role_required(READ)
def waterfall_export(request):
    _form, currency, start, end = _report_params(request)
    fall = selectors.waterfall(currency=currency, start=start, end=end)
    header = ["billed_month", *[m.isoformat() for m in fall["months"]], "later", "total"]
    rows = ([r["month"].isoformat(), *[f"{v:.2f}" for v in r["values"]], f"{r['total']:.2f}"] for r in fall["rows"])
    return csv_response(f"waterfall-{currency}-{start.year}.csv", header, rows)


@role_required(READ)
def mrr_breakdown_export(request):
    """MRR at each month end per account (`?by=account`) or per product (`?by=product`)."""
    _form, currency, start, end = _report_params(request)
    by = "product" if request.GET.get("by") == "product" else "account"
    table = selectors.mrr_breakdown(currency=currency, start=start, end=end, by=by)
    rows = ([r["name"], *[f"{v:.2f}" for v in r["values"]]] for r in table["rows"])
    return csv_response(f"mrr-by-{by}-{currency}-{start.year}.csv", [by, *[m.isoformat() for m in table["months"]]], rows)


@role_required(READ)
def mrr_export(request):
    _form, currency, start, end = _report_params(request)
    keys = ["mrr", "arr", "accounts", "new", "expansion", "contraction", "churn", "reactivation"]
    rows = ([r["month"].isoformat(), *[str(r[k]) if k == "accounts" else f"{r[k]:.2f}" for k in keys]]
            for r in selectors.mrr_by_month(currency=currency, start=start, end=end))
    return csv_response(f"mrr-{currency}-{start.year}.csv", ["month", *keys], rows)


@role_required(READ)
def journal(request, pk: int):
    """The entries of one finance period, newest first."""
    period = get_object_or_404(FinancePeriod.objects.select_related("legal_entity"), pk=pk)
    page = page_of(request, selectors.journal_entries(period=period), per_page=50)
    return render(request, "accounting/journal.html", {"period": period, "page": page})


@role_required(READ)
def entry_detail(request, pk: int):
    """One journal entry with its lines; Finance and Admin reverse it here (a reason is required).

    The page shows the reversing entry before anything is written: the mirror lines and the open
    period they land in. The original is never edited."""
    entry = get_object_or_404(JournalEntry.objects.select_related("legal_entity", "period", "reverses"), pk=pk)
    reversed_by = JournalEntry.objects.filter(reverses=entry).first()
    form = ReverseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with refusal_as_message(request) as outcome:
            mirror = services.journal_entry_reverse(entry=entry, actor=request.user, today=clock.today(),
                                                    reason=form.cleaned_data["reason"])
        if outcome.refused:
            return redirect("accounting:entry", pk=entry.pk)
        messages.success(request, _("Entry %(id)s is reversed by entry %(mirror)s in %(period)s.") % {
            "id": entry.pk, "mirror": mirror.pk, "period": mirror.period.name})
        return redirect("accounting:entry", pk=mirror.pk)
    lines = entry.lines.select_related("ledger_account", "customer").order_by("id")
    can_reverse = reversed_by is None and entry.kind != JournalEntry.Kind.REVERSAL
    return render(request, "accounting/entry.html", {
        "entry": entry, "lines": lines, "reversed_by": reversed_by, "form": form, "can_reverse": can_reverse,
        "preview": selectors.reversal_preview(entry=entry, today=clock.today()) if can_reverse else None,
    })
