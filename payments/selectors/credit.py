"""Payments reads. The account's credit picture is read here, by views of earlier stages too (DESIGN §2).

`credit_summary` is the one read that goes backwards on purpose: quote and account pages show it
so a sales rep sees, before quoting, what the account owes. Views may call it; services of earlier
stages never do (the quote service receives the open balance from its caller).

What it reads
-------------
- posted `invoicing.Invoice` rows of the account in the account's currency, with their open
  balance from `payments.selectors.balances.invoices_with_balance` (total − payments allocated −
  credits allocated): every invoice still open, plus every invoice dated in the DSO window;
- `payments.Payment.unapplied_amount` and the open balance of posted credit notes, in the account's
  currency (documents in other currencies are not summed with it).

Figures (`credit_figures`, pure, so each rule is tested on plain rows)
-----------------------------------------------------------------------
- open balance = Σ balance of posted invoices;
- overdue amount = Σ balance of posted invoices whose due date is before today; the oldest overdue
  invoice is the one with the earliest due date, and its days overdue = today − due date;
- aging buckets by days past due of each open balance: current (not due yet, or due today),
  1–30, 31–60, 61–90, over 90;
- DSO over the last 90 days = open balance today ÷ credit sales of the last 90 days × 90, where
  credit sales = Σ total of posted invoices dated in ``(today − 90 days, today]``; shown with one
  decimal; none when there were no credit sales in the window;
- remaining credit = credit limit − open balance − the quote's total with tax (a limit of 0 means
  no limit, and nothing remains to compute); over limit when that is negative;
- unapplied credits = Σ unapplied amount of the account's payments + Σ open balance of its posted
  credit notes (money or credit the account has with us, not yet applied to an invoice).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import gettext as _

from billing_site.money import ZERO, round_money, sum_money

DSO_WINDOW_DAYS = 90
BUCKETS = ("current", "d1_30", "d31_60", "d61_90", "d90_plus")


@dataclass(frozen=True)
class OpenItem:
    """A posted invoice as the credit picture sees it."""

    total_amount: Decimal
    balance_amount: Decimal
    invoice_date: dt.date
    due_date: dt.date


@dataclass(frozen=True)
class CreditWarning:
    level: str  # "bad" or "warn"
    code: str
    message: str


@dataclass(frozen=True)
class CreditSummary:
    currency: str
    open_balance: Decimal
    overdue_amount: Decimal
    oldest_overdue_days: int | None
    aging: dict
    credit_sales_90: Decimal
    dso_90: Decimal | None
    credit_limit: Decimal | None
    quote_amount: Decimal
    remaining_after_quote: Decimal | None
    unapplied_credits: Decimal
    credit_hold: bool
    warnings: list = field(default_factory=list)

    @property
    def over_limit(self) -> bool:
        return self.remaining_after_quote is not None and self.remaining_after_quote < 0

    @property
    def exposure(self) -> Decimal:
        """What the account would owe with this quote: open balance + the quote's total with tax."""
        return self.open_balance + self.quote_amount

    @property
    def tone(self) -> str:
        if any(w.level == "bad" for w in self.warnings):
            return "bad"
        return "warn" if self.warnings else "ok"

    def as_dict(self) -> dict:
        return {
            "currency": self.currency,
            "open_balance": str(self.open_balance),
            "overdue_amount": str(self.overdue_amount),
            "oldest_overdue_days": self.oldest_overdue_days,
            "aging": {k: str(v) for k, v in self.aging.items()},
            "credit_sales_90": str(self.credit_sales_90),
            "dso_90": None if self.dso_90 is None else str(self.dso_90),
            "credit_limit": None if self.credit_limit is None else str(self.credit_limit),
            "quote_amount": str(self.quote_amount),
            "remaining_after_quote": None if self.remaining_after_quote is None else str(self.remaining_after_quote),
            "over_limit": self.over_limit,
            "unapplied_credits": str(self.unapplied_credits),
            "credit_hold": self.credit_hold,
            "warnings": [{"level": w.level, "code": w.code, "message": w.message} for w in self.warnings],
        }


def credit_figures(
    *,
    items: list[OpenItem],
    unapplied: Decimal,
    credit_limit: Decimal,
    credit_hold: bool,
    quote_amount: Decimal,
    today: dt.date,
    currency: str,
) -> CreditSummary:
    """The credit picture from plain rows (see the module docstring for each figure)."""
    aging_rows: dict[str, list[Decimal]] = {b: [] for b in BUCKETS}
    overdue_rows, oldest_due = [], None
    for item in items:
        days = (today - item.due_date).days
        aging_rows[_bucket(days)].append(item.balance_amount)
        if days > 0 and item.balance_amount:
            overdue_rows.append(item.balance_amount)
            oldest_due = item.due_date if oldest_due is None else min(oldest_due, item.due_date)
    aging = {b: sum_money(rows, currency) for b, rows in aging_rows.items()}
    open_balance = sum_money((i.balance_amount for i in items), currency)
    overdue = sum_money(overdue_rows, currency)
    window_start = today - dt.timedelta(days=DSO_WINDOW_DAYS)
    sales = sum_money((i.total_amount for i in items if window_start < i.invoice_date <= today), currency)
    dso = None
    if sales > 0:
        from catalog.pricing import fraction_to_decimal

        dso = fraction_to_decimal(Fraction(open_balance) / Fraction(sales) * DSO_WINDOW_DAYS, 1)
    limit = credit_limit if credit_limit and credit_limit > 0 else None
    quote_amount = sum_money([quote_amount or ZERO], currency)
    remaining = None if limit is None else sum_money([limit, -open_balance, -quote_amount], currency)
    summary_args = dict(
        currency=currency, open_balance=open_balance, overdue_amount=overdue,
        oldest_overdue_days=None if oldest_due is None else (today - oldest_due).days, aging=aging,
        credit_sales_90=sales, dso_90=dso, credit_limit=None if limit is None else sum_money([limit], currency),
        quote_amount=quote_amount, remaining_after_quote=remaining, unapplied_credits=sum_money([unapplied], currency),
        credit_hold=credit_hold,
    )
    summary = CreditSummary(**summary_args)
    return CreditSummary(**summary_args, warnings=_warnings(summary))


def _bucket(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "d1_30"
    if days_past_due <= 60:
        return "d31_60"
    if days_past_due <= 90:
        return "d61_90"
    return "d90_plus"


def _warnings(summary: CreditSummary) -> list[CreditWarning]:
    from billing_site.money import format_money

    out = []
    if summary.credit_hold:
        out.append(CreditWarning("bad", "credit_hold", _("This account is on credit hold: finance must approve any quote.")))
    if summary.overdue_amount > 0:
        out.append(
            CreditWarning(
                "bad", "overdue",
                _("%(amount)s is overdue; the oldest unpaid invoice is %(days)s days late.")
                % {"amount": format_money(summary.overdue_amount, summary.currency), "days": summary.oldest_overdue_days},
            )
        )
    if summary.over_limit:
        out.append(
            CreditWarning(
                "bad" if summary.quote_amount == 0 else "warn", "over_limit",
                _("Over the credit limit of %(limit)s by %(amount)s.")
                % {
                    "limit": format_money(summary.credit_limit, summary.currency),
                    "amount": format_money(-summary.remaining_after_quote, summary.currency),
                },
            )
        )
    return out


def _open_items(account, *, today: dt.date) -> list[OpenItem]:
    """The account's open posted invoices one by one (from the open-invoices index), plus one item for the
    settled invoices dated in the DSO window, which count towards credit sales only (their total, summed in SQL)."""
    from django.db.models import Sum

    from invoicing.models import Invoice

    window_start = today - dt.timedelta(days=DSO_WINDOW_DAYS)
    cur = account.currency
    posted = Invoice.objects.filter(account=account, status=Invoice.Status.POSTED, currency=cur)
    rows = posted.filter(open_amount__gt=0).values_list("total_amount", "open_amount", "invoice_date", "due_date")
    items = [OpenItem(round_money(total, cur), round_money(balance, cur), invoiced, due) for total, balance, invoiced, due in rows]
    settled = posted.filter(open_amount__lte=0, invoice_date__gt=window_start, invoice_date__lte=today).aggregate(s=Sum("total_amount"))["s"]
    if settled:
        items.append(OpenItem(round_money(settled, cur), ZERO, today, today))
    return items


def _unapplied(account) -> Decimal:
    from payments.models import Payment
    from payments.selectors.balances import open_credit_notes

    cur = account.currency
    payments = Payment.objects.filter(account=account, currency=cur, unapplied_amount__gt=0).values_list("unapplied_amount", flat=True)
    notes = open_credit_notes(account=account, currency=cur).values_list("open_amount", flat=True)
    return sum_money([round_money(a, cur) for a in [*payments, *notes]], cur)


def unapplied_by_currency(*, account) -> list[dict]:
    """Money the account has with us not yet applied, in every currency (the account's first):
    unapplied payments and open posted credit notes, each rounded to its currency."""
    from django.db.models import Sum

    from payments.models import Payment
    from payments.selectors.balances import open_credit_notes

    figures: dict[str, dict] = {}

    def row(currency):
        return figures.setdefault(currency, {"currency": currency, "payments": ZERO, "credit_notes": ZERO})

    for r in (Payment.objects.filter(account=account, unapplied_amount__gt=0).values("currency")
              .annotate(s=Sum("unapplied_amount")).order_by()):
        row(r["currency"])["payments"] = round_money(r["s"], r["currency"])
    for note in open_credit_notes(account=account).values("currency", "open_amount"):
        row(note["currency"])["credit_notes"] += round_money(note["open_amount"], note["currency"])
    rows = [{**r, "total": r["payments"] + r["credit_notes"]} for r in figures.values()]
    return sorted(rows, key=lambda r: (r["currency"] != account.currency, r["currency"]))


def credit_summary(*, account, today: dt.date, quote=None) -> CreditSummary:
    """The account's credit picture on `today`; with a quote, what remains after its total with tax."""
    quote_amount = ZERO
    if quote is not None and quote.is_open:
        quote_amount = quote.total_contract_value + quote.tax_estimate
    return credit_figures(
        items=_open_items(account, today=today), unapplied=_unapplied(account), credit_limit=account.credit_limit_amount,
        credit_hold=account.credit_hold, quote_amount=quote_amount, today=today, currency=account.currency,
    )


def account_panel(*, account, user) -> dict:
    """The credit panel shown above the account page's tabs."""
    from billing_site import clock

    other = [r for r in unapplied_by_currency(account=account) if r["currency"] != account.currency]
    return {
        "template": "payments/credit_panel.html", "credit": credit_summary(account=account, today=clock.today()),
        "unapplied_other": other,
    }
