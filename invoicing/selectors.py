"""Invoicing reads: lists, run progress, the preview, "why not billed", account tab, dashboard cards."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import django_filters
from django.db.models import Case, Count, F, Q, Sum, Value, When
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing_site import clock
from billing_site.money import format_money
from billing_site.roles import FINANCE_ADMIN, Role
from contracts.models import ScheduleEntry
from invoicing.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    InvoiceRunError,
    PaymentStatus,
)
from invoicing.schedule import due_entries_q
from invoicing.services.billing import ReferenceCache, build_account, load_context
from invoicing.services.runs import filters_clean, run_counts

INVOICE_SORTS = {
    "number": "number", "date": "invoice_date", "due": "due_date", "account": "account__name", "total": "total_amount",
    "status": "status", "created": "created_at", "balance": "open_amount",
}

OVERDUE = "overdue"
# What a person reads: the stored payment status, or "overdue" (open past its due date, so it depends on today).
PAY_STATE_LABELS = {**dict(PaymentStatus.choices), OVERDUE: gettext_lazy("Overdue")}
PAY_STATE_TONES = {PaymentStatus.UNPAID: "warn", PaymentStatus.PARTIALLY_PAID: "info", PaymentStatus.PAID: "ok", OVERDUE: "bad"}
# The invoice list's "payment" filter.
PAYMENT_FILTERS = [
    ("open", gettext_lazy("Open")), ("overdue", gettext_lazy("Overdue")), ("paid", gettext_lazy("Paid")),
    ("unpaid", gettext_lazy("Unpaid")), ("partially_paid", gettext_lazy("Partially paid")),
]


def payment_state(invoice: Invoice, *, today: dt.date) -> str:
    """The payment status, or "overdue" for a posted invoice still open after its due date."""
    if invoice.status == Invoice.Status.POSTED and invoice.open_amount > 0 and invoice.due_date and invoice.due_date < today:
        return OVERDUE
    return invoice.payment_status


def with_payment_state(qs, *, today: dt.date):
    """Annotate `pay_state` with the rule of `payment_state`, in SQL."""
    return qs.annotate(
        pay_state=Case(
            When(Q(status=Invoice.Status.POSTED, open_amount__gt=0, due_date__lt=today), then=Value(OVERDUE)),
            default=F("payment_status"),
        )
    )


def filter_payment(qs, value: str, *, today: dt.date):
    """Posted invoices by what is left to pay: open, overdue, paid, unpaid, partially paid (indexed columns)."""
    posted = qs.filter(status=Invoice.Status.POSTED)
    if value == "open":
        return posted.filter(open_amount__gt=0)
    if value == OVERDUE:
        return posted.filter(open_amount__gt=0, due_date__lt=today)
    if value in PaymentStatus.values:
        return posted.filter(payment_status=value)
    return qs


class InvoiceFilter(django_filters.FilterSet):
    """The invoice list's filters, shared by the page, its CSV export and the API."""

    q = django_filters.CharFilter(method="search", label=gettext_lazy("Search"))
    status = django_filters.ChoiceFilter(choices=Invoice.Status.choices, label=gettext_lazy("Status"))
    account = django_filters.NumberFilter(field_name="account_id", label=gettext_lazy("Account"))
    currency = django_filters.CharFilter(label=gettext_lazy("Currency"))
    legal_entity = django_filters.NumberFilter(field_name="legal_entity_id", label=gettext_lazy("Legal entity"))
    date_from = django_filters.DateFilter(field_name="invoice_date", lookup_expr="gte", label=gettext_lazy("From"))
    date_to = django_filters.DateFilter(field_name="invoice_date", lookup_expr="lte", label=gettext_lazy("To"))
    run = django_filters.NumberFilter(field_name="run_id", label=gettext_lazy("Run"))
    payment = django_filters.ChoiceFilter(choices=PAYMENT_FILTERS, method="by_payment", label=gettext_lazy("Payment"))

    class Meta:
        model = Invoice
        fields = ["q", "status", "account", "currency", "legal_entity", "date_from", "date_to", "run", "payment"]

    def by_payment(self, queryset, name, value):
        return filter_payment(queryset, value, today=clock.today())

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__icontains=value) | Q(account__name__icontains=value) | Q(account__number__icontains=value))


def invoice_list(*, params, sort: str = "-created"):
    qs = Invoice.objects.select_related("account", "legal_entity")
    filterset = InvoiceFilter(params, queryset=qs)
    key = sort.lstrip("-")
    order = INVOICE_SORTS.get(key, "created_at")
    qs = filterset.qs.order_by(f"-{order}" if sort.startswith("-") else order, "-id")
    return filterset, with_payment_state(qs, today=clock.today())


def credit_note_list(*, params):
    qs = CreditNote.objects.select_related("account", "invoice").order_by("-id")
    if params.get("status"):
        qs = qs.filter(status=params["status"])
    if params.get("account"):
        qs = qs.filter(account_id=params["account"])
    if params.get("q"):
        qs = qs.filter(Q(number__icontains=params["q"]) | Q(account__name__icontains=params["q"]))
    return qs


def invoice_credited(invoice: Invoice) -> dict:
    """Per line: net credited so far."""
    credited = defaultdict(Decimal)
    for row in invoice.lines.values("id").annotate(s=Sum("credit_lines__net_amount")):
        credited[row["id"]] = row["s"] or Decimal("0")
    return {"by_line": credited}


def run_progress(run: InvoiceRun) -> dict:
    """Live progress of a run: % of accounts done, counts, totals."""
    counts = run_counts(run.pk) if run.status in InvoiceRun.ACTIVE or not run.finished_at else {
        "accounts_done": run.accounts_done, "accounts_failed": run.accounts_failed, "accounts_skipped": run.accounts_skipped,
        "invoices_count": run.invoices_count,
        "credit_notes_count": run.credit_notes_count, "lines_count": run.lines_count, "totals": run.totals,
    }
    total = run.accounts_total
    percent = 100 if run.finished_at and run.status != InvoiceRun.Status.CANCELLED else (int(counts["accounts_done"] * 100 / total) if total else 0)
    return {**counts, "percent": min(percent, 100), "accounts_total": total, "finished": run.status in InvoiceRun.FINISHED,
            "totals_display": [format_money(Decimal(v), k) for k, v in sorted((counts.get("totals") or {}).items())]}


def run_filters_display(filters: dict | None) -> list[str]:
    """A run's or schedule's filters in words: "Accounts: ACC-00001 Maison Verte", not `account_ids: [1]`."""
    from catalog.models import LegalEntity
    from customers.models import Account

    filters = filters or {}
    out = []
    if filters.get("legal_entity_id"):
        entity = LegalEntity.objects.filter(pk=filters["legal_entity_id"]).values_list("name", flat=True).first()
        out.append(_("Legal entity: %(name)s") % {"name": entity or "?"})
    if filters.get("currency"):
        out.append(_("Currency: %(currency)s") % {"currency": filters["currency"]})
    if filters.get("account_ids"):
        accounts = Account.objects.filter(pk__in=filters["account_ids"]).order_by("number").values_list("number", "name")
        out.append(_("Accounts: %(accounts)s") % {"accounts": ", ".join(f"{number} {name}" for number, name in accounts)})
    if filters.get("billing_days"):
        out.append(_("Billing days: %(days)s") % {"days": ", ".join(str(d) for d in filters["billing_days"])})
    return out


def run_errors(run: InvoiceRun):
    return InvoiceRunError.objects.filter(run=run).select_related("account").order_by("account__name")


def invoice_preview(*, target_date: dt.date, filters: dict | None = None, limit: int = 200) -> dict:
    """What a run would bill, built exactly as the run builds it, without writing anything."""
    filters = filters_clean(filters)
    account_ids = list(
        ScheduleEntry.objects.filter(due_entries_q(target_date=target_date, filters=filters))
        .order_by("account_id").values_list("account_id", flat=True).distinct()
    )
    shown = account_ids[:limit]
    ctx = load_context(account_ids=shown, target_date=target_date, filters=filters, refs=ReferenceCache())
    rows, totals, gross = [], defaultdict(Decimal), defaultdict(Decimal)
    for account_id in shown:
        bill = build_account(ctx, account_id)
        account = ctx.accounts.get(account_id) or {"name": "?", "number": ""}
        for doc in bill.documents:
            sign = -1 if doc.is_credit else 1
            totals[doc.currency] += sign * doc.subtotal_amount
            gross[doc.currency] += sign * doc.total_amount
            rows.append({"account_id": account_id, "account": account, "doc": doc, "error": ""})
        if bill.error:
            rows.append({"account_id": account_id, "account": account, "doc": None, "error": bill.error})
    return {
        "accounts_total": len(account_ids), "accounts_shown": len(shown), "rows": rows,
        "totals": [format_money(v, k) for k, v in sorted(totals.items())],
        "gross_totals": [format_money(v, k) for k, v in sorted(gross.items())],
    }


def why_not_billed(*, subscription_id: int | None = None, entry_id: int | None = None, today: dt.date | None = None) -> dict:
    """For each schedule entry of a subscription (or one entry): billed where, or why not yet."""
    today = today or clock.today()
    qs = ScheduleEntry.objects.select_related("subscription__product", "subscription__billing_rule", "contract", "account")
    if entry_id:
        qs = qs.filter(pk=entry_id)
    elif subscription_id:
        qs = qs.filter(subscription_id=subscription_id)
    else:
        return {"rows": [], "subscription": None}
    entries = list(qs.order_by("period_start", "id"))
    lines = {ln.billing_key: ln for ln in InvoiceLine.objects.filter(billing_key__in=[e.pk for e in entries]).select_related("invoice")}
    old_lines = defaultdict(list)
    for ln in InvoiceLine.objects.filter(schedule_entry_id__in=[e.pk for e in entries], billing_key=None).select_related("invoice"):
        old_lines[ln.schedule_entry_id].append(ln)
    credit_lines = {ln.credit_key: ln for ln in CreditNoteLine.objects.filter(
        credit_key__in=[e.pk for e in entries]).select_related("credit_note")}
    errors = {}
    if entries:
        account_id = entries[0].account_id
        last_error = InvoiceRunError.objects.filter(account_id=account_id).select_related("run").order_by("-id").first()
        if last_error:
            errors[account_id] = last_error
    last_run = InvoiceRun.objects.filter(status__in=InvoiceRun.FINISHED).exclude(status=InvoiceRun.Status.CANCELLED).order_by("-target_date", "-id").first()
    rows = []
    for e in entries:
        document, reason, tone = None, "", "info"
        if e.status == ScheduleEntry.Status.CANCELLED:
            reason, tone = _("Cancelled by an amendment; nothing to bill."), "muted"
        elif e.status == ScheduleEntry.Status.BILLED:
            line = lines.get(e.pk)
            if line is not None:
                document, reason, tone = line.invoice, _("Billed on %(doc)s.") % {"doc": line.invoice}, "ok"
            elif e.pk in credit_lines:
                note = credit_lines[e.pk].credit_note
                document, reason, tone = note, _("Credited on %(doc)s.") % {"doc": note}, "ok"
            else:
                reason, tone = _("Marked billed, but no live invoice line holds it: report this to an administrator."), "bad"
        elif not e.subscription.billing_rule.generate_invoices:
            reason, tone = _("Its billing rule “%(rule)s” does not generate invoices.") % {"rule": e.subscription.billing_rule}, "warn"
        elif e.bill_on > today:
            reason = _("Not due yet: it is billed by the first run with a target date on or after %(day)s.") % {"day": e.bill_on.isoformat()}
        elif e.account_id in errors and (last_run is None or errors[e.account_id].run_id >= last_run.pk):
            error = errors[e.account_id]
            reason, tone = _("Run %(run)s could not bill the account: %(reason)s") % {"run": error.run_id, "reason": error.message}, "bad"
        elif last_run is not None and last_run.target_date >= e.bill_on:
            reason, tone = _("Due since %(day)s but not billed by run %(run)s; it was probably outside the run's filters.") % {"day": e.bill_on.isoformat(), "run": last_run.pk}, "warn"
        else:
            reason, tone = _("Due since %(day)s: no run with a later target date has finished yet.") % {"day": e.bill_on.isoformat()}, "warn"
        if old_lines.get(e.pk):
            reason += " " + _("Earlier billed on %(docs)s (cancelled and re-billed).") % {"docs": ", ".join(str(ln.invoice) for ln in old_lines[e.pk])}
        url = ""
        if isinstance(document, Invoice):
            url = reverse("invoicing:detail", args=[document.pk])
        elif document is not None:
            url = reverse("invoicing:credit-note-detail", args=[document.pk])
        rows.append({"entry": e, "document": document, "url": url, "reason": reason, "tone": tone})
    return {"rows": rows, "subscription": entries[0].subscription if entries else None}


def dashboard_cards(*, user, roles) -> list[dict]:
    if not roles & FINANCE_ADMIN:
        return []
    drafts = Invoice.objects.filter(status=Invoice.Status.DRAFT).count()
    running = InvoiceRun.objects.filter(status__in=InvoiceRun.ACTIVE).count()
    cards = [
        {"title": _("Draft invoices to post"), "value": drafts, "url": reverse("invoicing:index") + "?status=draft",
         "tone": "warn" if drafts else "ok"},
        {"title": _("Invoice runs in progress"), "value": running, "url": reverse("invoicing:runs"), "tone": "info" if running else "neutral"},
    ]
    last = InvoiceRun.objects.filter(status__in=InvoiceRun.FINISHED).order_by("-id").first()
    if last is not None:
        tone = {"completed": "ok", "completed_with_errors": "warn", "failed": "bad"}.get(last.status, "neutral")
        cards.append({"title": _("Last invoice run"), "value": last.get_status_display(), "url": reverse("invoicing:run-detail", args=[last.pk]),
                      "tone": tone, "hint": _("%(invoices)s invoices, %(failed)s accounts failed") % {"invoices": last.invoices_count, "failed": last.accounts_failed}})
    return cards


def account_tab(*, account, user) -> dict:
    invoices = list(with_payment_state(Invoice.objects.filter(account=account), today=clock.today())
                    .select_related("legal_entity").order_by("-id")[:50])
    notes = list(CreditNote.objects.filter(account=account).order_by("-id")[:20])
    summary = Invoice.objects.filter(account=account, status=Invoice.Status.POSTED).values("currency").annotate(
        total=Sum("total_amount"), n=Count("id"))
    return {"invoices": invoices, "credit_notes": notes, "invoice_summary": list(summary),
            "can_bill": bool(user and (user.is_superuser or user.groups.filter(name__in=[Role.FINANCE.value, Role.ADMIN.value]).exists()))}


def global_search(*, query: str, roles, limit: int) -> list[dict]:
    """Invoices and credit notes by number (every role reads them)."""
    from billing_site.money import format_money
    from billing_site.selectors import search_group

    invoices = Invoice.objects.filter(number__icontains=query).select_related("account").order_by("-id")
    notes = CreditNote.objects.filter(number__icontains=query).select_related("account").order_by("-id")
    return [
        search_group(kind="invoices", label=_("Invoices"), rows=invoices, limit=limit, row=lambda i: {
            "title": i.number, "detail": f"{i.account.name} · {format_money(i.total_amount, i.currency)} · {i.get_status_display()}",
            "url": reverse("invoicing:detail", args=[i.pk]),
        }),
        search_group(kind="credit_notes", label=_("Credit notes"), rows=notes, limit=limit, row=lambda n: {
            "title": n.number, "detail": f"{n.account.name} · {format_money(n.total_amount, n.currency)} · {n.get_status_display()}",
            "url": reverse("invoicing:credit-note-detail", args=[n.pk]),
        }),
    ]


def next_numbers(*, legal_entity_id: int, document_type: str, count: int = 1) -> list[str]:
    """The numbers the next `count` postings of this legal entity would take now (read only: a posting
    running meanwhile may take them first)."""
    from catalog.models import LegalEntity
    from invoicing.models import NumberSeries

    series = NumberSeries.objects.filter(legal_entity_id=legal_entity_id, document_type=document_type).first()
    if series is None:
        entity = LegalEntity.objects.get(pk=legal_entity_id)
        series = NumberSeries(prefix=entity.invoice_prefix if document_type == "invoice" else entity.credit_note_prefix)
    return [series.format(series.next_number + i) for i in range(count)]


def drafts_numbering(invoice_ids) -> list[dict]:
    """Per legal entity: how many of these drafts it posts and the range of numbers they would take."""
    rows = (Invoice.objects.filter(pk__in=list(invoice_ids), status=Invoice.Status.DRAFT)
            .values("legal_entity_id", "legal_entity__name").annotate(n=Count("id")).order_by("legal_entity__name"))
    out = []
    for r in rows:
        numbers = next_numbers(legal_entity_id=r["legal_entity_id"], document_type="invoice", count=r["n"])
        out.append({"entity": r["legal_entity__name"], "count": r["n"], "first": numbers[0], "last": numbers[-1]})
    return out


def bulk_job_errors(job) -> list[dict]:
    return list(job.errors or [])
