"""Quote reads: the list, the builder's lines and price breakdowns, product search, dashboard and tab."""

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import django_filters
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing_site.money import format_money, format_number
from billing_site.roles import Role
from catalog.models import PriceBookEntry, Product
from catalog.pricing import PricingError, format_fraction, price_for_quantity, service_amount
from catalog.selectors import readiness_by_product
from quotes import pricing
from quotes.models import OPEN_STATUSES, Quote, QuoteLine

SORTS = {
    "number": ("number", "version"), "account": ("account__name",), "status": ("status",),
    "created": ("created_at",), "expires": ("expiration_date",), "tcv": ("total_contract_value",),
    "start": ("start_date",),
}


class QuoteFilter(django_filters.FilterSet):
    """The quote list's filters, shared by the page, its CSV export and the API."""

    q = django_filters.CharFilter(method="search", label=gettext_lazy("Search"))
    status = django_filters.MultipleChoiceFilter(choices=Quote.Status.choices, label=gettext_lazy("Status"))
    account = django_filters.NumberFilter(field_name="account_id", label=gettext_lazy("Account"))
    mine = django_filters.BooleanFilter(method="filter_mine", label=gettext_lazy("Mine"))
    open = django_filters.BooleanFilter(method="filter_open", label=gettext_lazy("Open"))

    class Meta:
        model = Quote
        fields = ["q", "status", "account", "mine", "open"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__icontains=value) | Q(account__name__icontains=value) | Q(notes__icontains=value))

    def filter_mine(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if not value or user is None:
            return queryset
        return queryset.filter(Q(created_by=user) | Q(account__sales_owner=user))

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(status__in=OPEN_STATUSES) if value else queryset.exclude(status__in=OPEN_STATUSES)


def quote_list(*, params, request=None, sort: str = "-created"):
    """Quotes matching the list's filters, sorted: the same rows the page, the CSV and the API show."""
    qs = Quote.objects.select_related("account", "created_by", "price_book")
    filterset = QuoteFilter(params, queryset=qs, request=request)
    fields = SORTS.get(sort.lstrip("-"), SORTS["created"])
    order = [f"-{f}" if sort.startswith("-") else f for f in fields]
    return filterset, filterset.qs.order_by(*order, "-id")


# The builder --------------------------------------------------------------------------------------


@dataclass
class LineView:
    """A line as the builder and the PDF show it, with its price breakdown."""

    line: QuoteLine
    charge_type: str
    basis: str
    term_display: str
    multiplier_display: str
    monthly_value: Decimal
    rates: list
    breakdown: dict


def _rates(snapshot: dict) -> list[dict]:
    spec = pricing.spec_from_snapshot(snapshot)
    if spec.tiers:
        return [
            {"lower": t.lower, "upper": t.upper, "unit_price": t.unit_price, "flat_fee": t.flat_fee} for t in spec.tiers
        ]
    return [{"lower": None, "upper": None, "unit_price": spec.unit_price, "flat_fee": Decimal(0)}]


def line_breakdown(*, line: QuoteLine, quote: Quote) -> dict:
    """How the line's total is made, step by step, with the same engine functions the contract and invoice use."""
    snap = line.pricing_snapshot
    currency = quote.currency
    spec = pricing.spec_from_snapshot(snap)
    charge = snap.get("charge_type")
    out = {"model": snap.get("model"), "basis": snap.get("basis"), "steps": [], "periods": [], "currency": currency}
    if charge == pricing.USAGE:
        return out
    steps = out["steps"]
    if snap.get("basis") == "quantity":
        try:
            extended = price_for_quantity(spec=spec, quantity=line.quantity)
        except PricingError:
            extended = None
        if extended is not None:
            steps.append(
                (_("Price of %(quantity)s (%(model)s)") % {"quantity": format_number(line.quantity), "model": snap.get("model")}, extended)
            )
        steps.append((_("List unit price (price ÷ quantity)"), line.list_unit_price))
    else:
        steps.append((_("List unit price"), line.list_unit_price))
    if line.discount_percent is not None:
        steps.append((_("Line discount %(percent)s %%") % {"percent": format_number(line.discount_percent)}, None))
    if line.discount_amount is not None:
        steps.append((_("Line discount %(amount)s per unit") % {"amount": format_money(line.discount_amount, currency)}, None))
    if quote.quote_discount_percent:
        steps.append((_("Quote discount %(percent)s %%") % {"percent": format_number(quote.quote_discount_percent)}, None))
    steps.append((_("Net unit price"), line.net_unit_price))
    if charge == pricing.RECURRING:
        steps.append(
            (
                _("× quantity %(quantity)s × term multiplier %(multiplier)s")
                % {"quantity": format_number(line.quantity), "multiplier": format_fraction(line.multiplier)},
                None,
            )
        )
    else:
        steps.append((_("× quantity %(quantity)s") % {"quantity": format_number(line.quantity)}, None))
    steps.append((_("Line total (rounded once)"), line.line_total))
    if line.tax_rate_percent:
        steps.append((_("%(tax)s on the line total") % {"tax": line.tax_label or _("Tax")}, line.tax_amount))
    if charge == pricing.RECURRING and snap.get("billing_frequency"):
        # What the contract will bill each period: the net price × months per period ÷ price term.
        period_price = Fraction(line.net_unit_price) * Fraction(snap["billing_frequency"], line.price_term_months or 12)
        try:
            result = service_amount(
                unit_price=period_price, quantity=line.quantity,
                start=line.start_date, end=line.end_date, frequency_months=snap["billing_frequency"],
                boundary=snap.get("period_boundary", "anniversary"), billing_day=quote.account.billing_day,
                day_count=snap.get("day_count", "actual_days"), currency=currency,
            )
        except PricingError as exc:
            out["schedule_error"] = str(exc)
        else:
            out["periods"] = [
                {"start": p.period.start, "end": p.period.end, "factor": str(p.factor), "amount": p.amount} for p in result.pieces
            ]
            out["periods_amount"] = result.pieces_amount
            out["periods_count"] = result.periods_display
    return out


def quote_lines_display(*, quote: Quote, with_breakdown: bool = True) -> list[LineView]:
    lines = list(quote.lines.select_related("product").order_by("position", "id"))
    views = []
    for line in lines:
        snap = line.pricing_snapshot
        term = pricing.line_term_months(start=line.start_date, end=line.end_date)
        charge = snap.get("charge_type")
        monthly = Decimal(0)
        if charge == pricing.RECURRING:
            from catalog.pricing.exact import round_fraction_money

            monthly = round_fraction_money(Fraction(line.line_total) / term, quote.currency)
        views.append(
            LineView(
                line=line, charge_type=charge, basis=snap.get("basis", "unit"),
                term_display=str(term.numerator) if term.denominator == 1 else format_fraction(term),
                multiplier_display=format_fraction(line.multiplier), monthly_value=monthly,
                rates=_rates(snap) if charge == pricing.USAGE else [],
                breakdown=line_breakdown(line=line, quote=quote) if with_breakdown else {},
            )
        )
    return views


def approval_reason_messages(reasons: list[dict], currency: str) -> list[str]:
    """The stored approval reasons, in the reader's language."""
    out = []
    for r in reasons or []:
        if r.get("code") == "discount":
            out.append(
                _("Line %(position)s, %(product)s: discount of %(discount)s %% is above the %(threshold)s %% threshold.")
                % {"position": r["position"], "product": r["product"], "discount": format_number(Decimal(r["discount"]), places=2), "threshold": format_number(Decimal(r["threshold"]))}
            )
        elif r.get("code") == "credit_hold":
            out.append(_("The account is on credit hold."))
        elif r.get("code") == "credit_limit":
            out.append(
                _("Open balance plus this quote (%(exposure)s incl. tax) exceeds the credit limit of %(limit)s.")
                % {"exposure": format_money(Decimal(r["exposure"]), currency), "limit": format_money(Decimal(r["limit"]), currency)}
            )
    return out


def products_for_quote(*, quote: Quote, query: str, limit: int = 15) -> list[dict]:
    """Products priced in the quote's book matching a name or SKU; each says whether it can be quoted."""
    query = (query or "").strip()
    if not query:
        return []
    priced = PriceBookEntry.objects.filter(product=OuterRef("pk"), price_book=quote.price_book, active=True)
    products = (
        Product.objects.filter(Q(name__icontains=query) | Q(sku__icontains=query), active=True)
        .annotate(priced=Exists(priced))
        .select_related("family")
        .order_by("name")[:limit]
    )
    products = list(products)
    readiness = readiness_by_product(products)
    results = []
    for product in products:
        if not product.priced:
            results.append({"product": product, "ready": False, "missing": [_("No price in this price book.")]})
            continue
        missing = [f"{c.label}: {c.detail}" for c in readiness.get(product.pk, []) if not c.ok]
        results.append({"product": product, "ready": not missing, "missing": missing})
    return results


def quote_actions(*, quote: Quote, roles) -> dict:
    """Which buttons the quote page shows (the services enforce the same rules)."""
    finance = bool(roles & {Role.FINANCE, Role.ADMIN})
    s = Quote.Status
    return {
        "edit": quote.status == s.DRAFT,
        "submit": quote.status == s.DRAFT,
        "delete": quote.status == s.DRAFT and quote.submitted_at is None,
        "approve": finance and quote.status == s.IN_REVIEW,
        "revise": quote.status == s.APPROVED,
        "present": quote.status == s.APPROVED,
        "accept": quote.status == s.PRESENTED,
        "reject": quote.status == s.PRESENTED,
        "clone": True,
        "pdf": bool(quote.pdf),
    }


STATUS_TONES = {
    "draft": "", "in_review": "pill-warn", "approved": "pill-info", "presented": "pill-info", "accepted": "pill-ok",
    "rejected": "pill-bad", "expired": "pill-bad",
}


def dashboard_cards(*, user, roles) -> list[dict]:
    url = reverse("quotes:index")
    counts = Quote.objects.aggregate(
        review=Count("id", filter=Q(status=Quote.Status.IN_REVIEW)),
        mine=Count("id", filter=Q(status__in=OPEN_STATUSES) & (Q(created_by=user) | Q(account__sales_owner=user))),
    )
    cards = []
    if Role.SALES in roles:
        cards.append({"title": _("My open quotes"), "value": counts["mine"], "url": f"{url}?mine=true&open=true"})
    if roles & {Role.FINANCE, Role.ADMIN}:
        cards.append(
            {
                "title": _("Quotes awaiting approval"), "value": counts["review"], "url": f"{url}?status=in_review",
                "tone": "warn" if counts["review"] else "ok", "hint": _("Discounts and credit to check"),
            }
        )
    return cards


def account_tab(*, account, user) -> dict:
    """The account page's Quotes tab."""
    quotes = Quote.objects.filter(account=account).select_related("created_by").order_by("-created_at", "-id")[:100]
    return {"quotes": quotes, "status_tones": STATUS_TONES}


def global_search(*, query: str, roles, limit: int) -> list[dict]:
    """Quotes by number (every role reads quotes)."""
    from billing_site.selectors import search_group

    rows = Quote.objects.filter(number__icontains=query).select_related("account").order_by("-id")
    return [search_group(kind="quotes", label=_("Quotes"), rows=rows, limit=limit, row=lambda q: {
        "title": str(q), "detail": f"{q.account.name} · {q.get_status_display()}", "url": reverse("quotes:detail", args=[q.pk]),
    })]
