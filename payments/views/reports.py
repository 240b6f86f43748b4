"""Receivables reports: aging with its chart, DSO trend, billed vs collected, CSV, statement PDF."""


from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing_site import clock
from billing_site.csv_export import csv_response
from billing_site.money import format_money, format_number
from billing_site.pages import refusal_as_message
from billing_site.pdf import render_pdf
from billing_site.roles import role_required
from customers.models import Account
from invoicing.models import DocumentSend
from payments.charts import bar_chart, line_chart, stacked_bar
from payments.forms import ReportForm, StatementPeriodForm
from payments.selectors.credit import BUCKETS
from payments.selectors.reports import (
    account_statement,
    aging_report,
    billed_vs_collected,
    dso_trend,
    statement_default_period,
)
from payments.services import statements
from payments.views._common import READ, WRITE


def _params(request):
    form = ReportForm(request.GET or None)
    currency, as_of = settings.DEFAULT_CURRENCY, clock.today()
    if form.is_valid():
        currency = form.cleaned_data.get("currency") or currency
        as_of = form.cleaned_data.get("as_of") or as_of
    return form, currency, as_of


def _bucket_labels():
    return {"current": _("Current"), "d1_30": _("1–30 days"), "d31_60": _("31–60 days"), "d61_90": _("61–90 days"),
            "d90_plus": _("Over 90 days")}


@role_required(READ)
def reports(request):
    """AR aging per account and in total, DSO trend and billed vs collected, for one currency."""
    form, currency, today = _params(request)
    aging = aging_report(today=today, currency=currency)
    # Worst accounts first, 50 a page: a book of 100,000 accounts is read a page at a time (the CSV has them all).
    page = Paginator(aging["rows"], 50).get_page(request.GET.get("page"))
    trend = dso_trend(today=today, currency=currency)
    flows = billed_vs_collected(today=today, currency=currency)
    labels = _bucket_labels()
    money = lambda v: format_money(v, currency)  # noqa: E731
    month = lambda d: formats.date_format(d, "M y")  # noqa: E731
    context = {
        "form": form, "currency": currency, "today": today, "aging": aging, "page": page, "trend": trend, "flows": flows,
        "bucket_labels": [(b, labels[b]) for b in BUCKETS],
        "aging_chart": stacked_bar(title=_("Aging"), parts_=[(labels[b], aging["totals"][b], f"b-{b}") for b in BUCKETS], value_format=money),
        "dso_chart": line_chart(title=_("DSO trend (days)"), labels=[month(r["month"]) for r in trend],
                                values=[r["dso"] for r in trend], value_format=lambda v: f"{v:.0f}"),
        "flows_chart": bar_chart(title=_("Billed vs collected"), labels=[month(r["month"]) for r in flows],
                                 series=[(_("Billed"), [r["billed"] for r in flows], "s-billed"),
                                         (_("Collected"), [r["net_collected"] for r in flows], "s-collected")],
                                 value_format=lambda v: format_number(v, None, 0)),
    }
    return render(request, "payments/reports.html", context)


@role_required(READ)
def aging_export(request):
    _form, currency, today = _params(request)
    aging = aging_report(today=today, currency=currency)
    header = ["account_number", "account", "currency", *BUCKETS, "total", "credit_hold"]
    rows = ([r["number"], r["name"], currency, *(str(r["buckets"][b]) for b in BUCKETS), str(r["total"]), r["credit_hold"]]
            for r in aging["rows"])
    return csv_response(f"aging-{currency}-{today.isoformat()}.csv", header, rows)


@role_required(READ)
def flows_export(request):
    _form, currency, today = _params(request)
    header = ["month", "currency", "billed", "credited", "collected", "refunded", "ar_at_month_end", "dso"]
    trend = {r["month"]: r for r in dso_trend(today=today, currency=currency)}
    rows = ([r["month"].strftime("%Y-%m"), currency, str(r["billed"]), str(r["credited"]), str(r["collected"]), str(r["refunded"]),
             str(trend[r["month"]]["ar"]), "" if trend[r["month"]]["dso"] is None else str(trend[r["month"]]["dso"])]
            for r in billed_vs_collected(today=today, currency=currency))
    return csv_response(f"receivables-{currency}-{today.isoformat()}.csv", header, rows)


def _statement(request, account):
    today = clock.today()
    form = StatementPeriodForm(request.GET or None)
    start, end = statement_default_period(today=today)
    if form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
    currency = request.GET.get("currency") if request.GET.get("currency") in settings.CURRENCIES else account.currency
    return form, account_statement(account=account, start=start, end=end, currency=currency)


@role_required(READ)
def statement_page(request, account_pk: int):
    account = get_object_or_404(Account, pk=account_pk)
    form, statement = _statement(request, account)
    sends = DocumentSend.objects.filter(account=account, statement_end__isnull=False).select_related("sent_by")[:20]
    return render(request, "payments/statement.html", {"form": form, "s": statement, "account": account, "sends": sends})


@role_required(READ, write=WRITE)
@require_POST
def statement_send(request, account_pk: int):
    """Email the statement shown (same period and currency) to the account's billing contacts."""
    account = get_object_or_404(Account, pk=account_pk)
    _form, statement = _statement(request, account)
    with refusal_as_message(request):
        sent = statements.statement_send(account=account, start=statement["start"], end=statement["end"],
                                         currency=statement["currency"], actor=request.user)
        messages.success(request, _("Statement sent to %(to)s.") % {"to": sent.recipients})
    return redirect(reverse("payments:statement", args=[account_pk]) + ("?" + request.GET.urlencode() if request.GET else ""))


@role_required(READ)
def statement_pdf(request, account_pk: int):
    """The account statement as a PDF in the account's language."""
    account = get_object_or_404(Account, pk=account_pk)
    _form, statement = _statement(request, account)
    from catalog.models import LegalEntity

    pdf = render_pdf(template="payments/statement_pdf.html", context={"s": statement, "entity": LegalEntity.objects.filter(active=True).first()},
                     language=account.language)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="statement-{account.number}-{statement["end"].isoformat()}.pdf"'
    return response
