"""Contract reads: lists, the contract timeline, what is due to bill and why something is not."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import django_filters
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing_site import clock
from billing_site.roles import FINANCE_ADMIN
from contracts import scheduling
from contracts.models import Contract, Order, ScheduleEntry, Subscription
from contracts.services.renewals import renewal_notice_days
from contracts.services.schedule import entry_of

ZERO = Decimal("0")

CONTRACT_SORTS = {
    "number": "number", "account": "account__name", "start": "start_date", "end": "end_date", "status": "status",
    "created": "created_at",
}
ORDER_SORTS = {"number": "number", "account": "account__name", "start": "start_date", "status": "status", "created": "created_at", "type": "type"}


class ContractFilter(django_filters.FilterSet):
    """The contract list's filters, shared by the page, its CSV and the API."""

    q = django_filters.CharFilter(method="search", label=gettext_lazy("Search"))
    status = django_filters.ChoiceFilter(choices=Contract.Status.choices, label=gettext_lazy("Status"))
    account = django_filters.NumberFilter(field_name="account_id", label=gettext_lazy("Account"))
    ending_before = django_filters.DateFilter(field_name="end_date", lookup_expr="lt", label=gettext_lazy("Ending before"))

    class Meta:
        model = Contract
        fields = ["q", "status", "account", "ending_before"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__icontains=value) | Q(account__name__icontains=value) | Q(account__number__icontains=value))


class OrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=gettext_lazy("Search"))
    status = django_filters.ChoiceFilter(choices=Order.Status.choices, label=gettext_lazy("Status"))
    type = django_filters.ChoiceFilter(choices=Order.Type.choices, label=gettext_lazy("Type"))
    account = django_filters.NumberFilter(field_name="account_id", label=gettext_lazy("Account"))

    class Meta:
        model = Order
        fields = ["q", "status", "type", "account"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__icontains=value) | Q(account__name__icontains=value))


def _sorted(queryset, sort: str, sorts: dict, default: str):
    key = sort.lstrip("-")
    field_name = sorts.get(key, sorts[default])
    return queryset.order_by(f"-{field_name}" if sort.startswith("-") and key in sorts else field_name, "id")


def contract_list(*, params, sort: str = "-start"):
    """Contracts matching the list's filters, sorted; the rows the page and the CSV show."""
    qs = Contract.objects.select_related("account").annotate(
        subscription_count=Count("subscriptions", filter=Q(subscriptions__status=Subscription.Status.ACTIVE), distinct=True)
    )
    filterset = ContractFilter(params, queryset=qs)
    return filterset, _sorted(filterset.qs, sort, CONTRACT_SORTS, "start")


def order_list(*, params, sort: str = "-created"):
    qs = Order.objects.select_related("account", "contract").annotate(product_count=Count("products"))
    filterset = OrderFilter(params, queryset=qs)
    return filterset, _sorted(filterset.qs, sort, ORDER_SORTS, "created")


@dataclass
class SubscriptionTimeline:
    subscription: Subscription
    entries: list[ScheduleEntry]
    billed_amount: Decimal = ZERO
    pending_amount: Decimal = ZERO
    cancelled_amount: Decimal = ZERO
    bars: list[dict] = field(default_factory=list)


@dataclass
class ContractTimeline:
    contract: Contract
    subscriptions: list[SubscriptionTimeline] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    billed_amount: Decimal = ZERO
    pending_amount: Decimal = ZERO
    next_bill_on: date | None = None
    scheduled_until: date | None = None  # a migrated contract: "to bill" counts the rows written up to here


def contract_timeline(*, contract: Contract) -> ContractTimeline:
    """Subscriptions with their schedules (billed, to bill, cancelled), orders and amendments, totals."""
    entries = ScheduleEntry.objects.filter(contract=contract).select_related("source_order", "cancelled_by").order_by(
        "period_start", "kind", "id"
    )
    subscriptions = list(
        contract.subscriptions.select_related("product", "billing_rule", "origin__order").prefetch_related(
            Prefetch("schedule", queryset=entries)
        ).order_by("id")
    )
    timeline = ContractTimeline(contract=contract)
    for sub in subscriptions:
        item = SubscriptionTimeline(subscription=sub, entries=list(sub.schedule.all()))
        for e in item.entries:
            amount = e.amount or ZERO
            if e.status == ScheduleEntry.Status.BILLED:
                item.billed_amount += amount
            elif e.status == ScheduleEntry.Status.PENDING:
                item.pending_amount += amount
                if timeline.next_bill_on is None or e.bill_on < timeline.next_bill_on:
                    timeline.next_bill_on = e.bill_on
            else:
                item.cancelled_amount += amount
        timeline.billed_amount += item.billed_amount
        timeline.pending_amount += item.pending_amount
        timeline.subscriptions.append(item)
        if sub.is_active and sub.is_partly_scheduled and sub.scheduled_until is not None:
            timeline.scheduled_until = min(timeline.scheduled_until or sub.scheduled_until, sub.scheduled_until)
    _bars(timeline)
    timeline.orders = list(
        Order.objects.filter(Q(contract=contract) | Q(created_contract=contract)).distinct().order_by("created_at", "id")
    )
    return timeline


def _bars(timeline: ContractTimeline) -> None:
    """Where each served piece sits on the contract's span, in percent, for the timeline strip."""
    contract = timeline.contract
    ends = [e.period_end for item in timeline.subscriptions for e in item.entries]
    span_end = contract.end_date or max(ends, default=contract.start_date + timedelta(days=1))
    total = max((span_end - contract.start_date).days, 1)
    for item in timeline.subscriptions:
        for e in item.entries:
            if e.status == ScheduleEntry.Status.CANCELLED or e.kind == ScheduleEntry.Kind.CREDIT:
                continue
            left = (e.period_start - contract.start_date).days * 100 / total
            width = max((e.period_end - e.period_start).days * 100 / total, 0.4)
            credited = any(c.credits_id == e.pk for c in item.entries if c.status != ScheduleEntry.Status.CANCELLED)
            item.bars.append({"left": f"{left:.3f}", "width": f"{width:.3f}", "status": e.status, "credited": credited,
                              "title": f"{e.period_start} – {e.period_end - timedelta(days=1)}"})


@dataclass
class AmendmentEffect:
    """What one amendment order did to the schedule: the same four lists and totals as its preview."""

    order: Order
    cancelled: list[ScheduleEntry]
    kept: list[ScheduleEntry]
    credits: list[ScheduleEntry]
    charges: list[ScheduleEntry]
    new_subscriptions: list[Subscription]

    @property
    def cancelled_amount(self) -> Decimal:
        return sum((e.amount or ZERO for e in self.cancelled), ZERO)

    @property
    def credits_amount(self) -> Decimal:
        return sum((e.amount or ZERO for e in self.credits), ZERO)

    @property
    def charges_amount(self) -> Decimal:
        return sum((e.amount or ZERO for e in [*self.kept, *self.charges]), ZERO)

    @property
    def net_amount(self) -> Decimal:
        return self.credits_amount + self.charges_amount - self.cancelled_amount


def amendment_effects(*, contract: Contract, order_ids=None) -> list[AmendmentEffect]:
    """Each amendment of the contract with the entries it cancelled, kept (cut at the date) and wrote."""
    orders = Order.objects.filter(contract=contract, type=Order.Type.AMENDMENT).prefetch_related("products").order_by("created_at", "id")
    if order_ids is not None:
        orders = orders.filter(pk__in=list(order_ids))
    orders = list(orders)
    ids = [o.pk for o in orders]
    written: dict[int, list[ScheduleEntry]] = {pk: [] for pk in ids}
    cancelled: dict[int, list[ScheduleEntry]] = {pk: [] for pk in ids}
    rows = ScheduleEntry.objects.filter(Q(source_order__in=ids) | Q(cancelled_by__in=ids)).select_related("subscription__product").order_by("subscription_id", "period_start", "id")
    for row in rows:
        if row.source_order_id in written:
            written[row.source_order_id].append(row)
        if row.cancelled_by_id in cancelled:
            cancelled[row.cancelled_by_id].append(row)
    new_subs: dict[int, list[Subscription]] = {pk: [] for pk in ids}
    for sub in Subscription.objects.filter(origin__order__in=ids).select_related("origin").order_by("id"):
        new_subs[sub.origin.order_id].append(sub)
    effects = []
    for order in orders:
        effective = order.effective_date
        entries = written[order.pk]
        effects.append(AmendmentEffect(
            order=order, cancelled=cancelled[order.pk],
            kept=[e for e in entries if e.kind != ScheduleEntry.Kind.CREDIT and effective and e.period_end <= effective],
            credits=[e for e in entries if e.kind == ScheduleEntry.Kind.CREDIT],
            charges=[e for e in entries if e.kind != ScheduleEntry.Kind.CREDIT and not (effective and e.period_end <= effective)],
            new_subscriptions=new_subs[order.pk],
        ))
    return effects


def due_entries(*, target_date: date, account_ids=None) -> QuerySet:
    """Pending entries an invoice run with this target date bills (bill_on ≤ target).

    Entries whose billing rule says not to generate invoices are left out. Usage entries are
    included even before they are rated (amount null): the run rates them, then bills them."""
    qs = ScheduleEntry.objects.filter(
        status=ScheduleEntry.Status.PENDING, bill_on__lte=target_date, subscription__billing_rule__generate_invoices=True
    ).select_related("subscription__billing_rule", "subscription__legal_entity", "subscription__tax_rule", "subscription__product",
                     "contract", "account")
    if account_ids is not None:
        qs = qs.filter(account_id__in=list(account_ids))
    return qs.order_by("account_id", "bill_on", "period_start", "id")


def entry_explain(*, entry: ScheduleEntry) -> str:
    """How the entry's amount was computed, e.g. '75 × 1200 × 12/12 × 45/366 = 11065.57 EUR'."""
    text = scheduling.explain(entry_of(entry), entry.currency)
    if entry.kind == ScheduleEntry.Kind.CREDIT and entry.credits_id:
        text += " " + _("(credits entry %(id)s)") % {"id": entry.credits_id}
    return text


def why_not_billed(*, target_date: date, entry: ScheduleEntry | None = None, subscription: Subscription | None = None) -> list[str]:
    """Why an entry (or a subscription's entries) would not be billed by a run on `target_date`; [] if it would."""
    if entry is None and subscription is None:
        raise ValueError("Give an entry or a subscription.")
    if entry is not None:
        return _entry_reasons(entry, target_date)
    reasons = []
    if subscription.status == Subscription.Status.CANCELLED:
        reasons.append(_("The subscription was cancelled on %(date)s.") % {"date": subscription.end_date})
    if subscription.contract.status == Contract.Status.CANCELLED:
        reasons.append(_("The contract was cancelled on %(date)s.") % {"date": subscription.contract.cancelled_on})
    if not subscription.billing_rule.generate_invoices:
        reasons.append(_("The billing rule %(rule)s does not generate invoices.") % {"rule": subscription.billing_rule.name})
    pending = subscription.schedule.filter(status=ScheduleEntry.Status.PENDING).order_by("bill_on").first()
    if pending is None:
        reasons.append(_("Nothing is left to bill on this subscription."))
    elif pending.bill_on > target_date:
        reasons.append(_("Not due yet: the next entry is billed on %(date)s.") % {"date": pending.bill_on})
    elif pending.kind == ScheduleEntry.Kind.USAGE and pending.amount is None:
        reasons.append(_("The usage of %(start)s–%(last)s is not rated yet.") % {"start": pending.period_start, "last": pending.period_end - timedelta(days=1)})
    return reasons


def _entry_reasons(entry: ScheduleEntry, target_date: date) -> list[str]:
    reasons = []
    if entry.status == ScheduleEntry.Status.BILLED:
        reasons.append(_("Already billed."))
    elif entry.status == ScheduleEntry.Status.CANCELLED:
        order = entry.cancelled_by.number if entry.cancelled_by_id else "—"
        reasons.append(_("Cancelled by amendment %(order)s.") % {"order": order})
    if entry.bill_on > target_date:
        reasons.append(_("Not due yet: billed on %(date)s.") % {"date": entry.bill_on})
    if not entry.subscription.billing_rule.generate_invoices:
        reasons.append(_("The billing rule %(rule)s does not generate invoices.") % {"rule": entry.subscription.billing_rule.name})
    if entry.kind == ScheduleEntry.Kind.USAGE and entry.amount is None and entry.status == ScheduleEntry.Status.PENDING:
        reasons.append(_("The usage of this period is not rated yet."))
    if entry.contract.status == Contract.Status.CANCELLED and entry.status != ScheduleEntry.Status.PENDING:
        reasons.append(_("The contract was cancelled on %(date)s.") % {"date": entry.contract.cancelled_on})
    return reasons


def account_tab(*, account, user) -> dict:
    """The account page's contracts tab: its contracts and orders."""
    contracts = list(
        Contract.objects.filter(account=account).annotate(
            pending_amount=Sum("schedule__amount", filter=Q(schedule__status=ScheduleEntry.Status.PENDING)),
            billed_amount=Sum("schedule__amount", filter=Q(schedule__status=ScheduleEntry.Status.BILLED)),
        ).order_by("-start_date", "-id")
    )
    orders = list(Order.objects.filter(account=account, status=Order.Status.DRAFT).order_by("-created_at")[:20])
    return {"contracts": contracts, "draft_orders": orders}


def dashboard_cards(*, user, roles) -> list[dict]:
    today = clock.today()
    horizon = today + timedelta(days=renewal_notice_days())
    ending = Contract.objects.filter(status=Contract.Status.ACTIVE, end_date__isnull=False, end_date__lt=horizon).count()
    url = reverse("contracts:index")
    cards = [
        {
            "title": _("Contracts ending in %(days)s days") % {"days": renewal_notice_days()}, "value": ending,
            "url": f"{url}?status=active&ending_before={horizon.isoformat()}", "tone": "warn" if ending else "ok",
        }
    ]
    if roles & FINANCE_ADMIN:
        drafts = Order.objects.filter(status=Order.Status.DRAFT).count()
        cards.append(
            {
                "title": _("Orders to activate"), "value": drafts, "url": reverse("contracts:orders") + "?status=draft",
                "tone": "warn" if drafts else "ok",
            }
        )
    return cards


def global_search(*, query: str, roles, limit: int) -> list[dict]:
    """Orders and contracts by number (every role reads them)."""
    from billing_site.selectors import search_group

    orders = Order.objects.filter(number__icontains=query).select_related("account").order_by("-id")
    contracts = Contract.objects.filter(number__icontains=query).select_related("account").order_by("-id")
    return [
        search_group(kind="orders", label=_("Orders"), rows=orders, limit=limit, row=lambda o: {
            "title": o.number, "detail": f"{o.account.name} · {o.get_status_display()}",
            "url": reverse("contracts:order-detail", args=[o.pk]),
        }),
        search_group(kind="contracts", label=_("Contracts"), rows=contracts, limit=limit, row=lambda c: {
            "title": c.number, "detail": f"{c.account.name} · {c.get_status_display()}",
            "url": reverse("contracts:detail", args=[c.pk]),
        }),
    ]
DELIVERY_STATUSES = ("due", "late", "delivered", "all")


def delivery_list(*, status: str = "due", today: date, account_id: int | None = None) -> QuerySet:
    """Ordered products that need delivery on activated orders: due (not delivered), late (due before
    today and not delivered), delivered, or all; the earliest due first."""
    from contracts.models import OrderProduct

    qs = OrderProduct.objects.filter(
        product__needs_delivery=True, order__status=Order.Status.ACTIVATED,
    ).select_related("order__account", "product", "delivered_by").order_by("delivery_due_date", "id")
    if account_id is not None:
        qs = qs.filter(order__account_id=account_id)
    if status == "due":
        qs = qs.filter(delivered_date__isnull=True)
    elif status == "late":
        qs = qs.filter(delivered_date__isnull=True, delivery_due_date__lt=today)
    elif status == "delivered":
        qs = qs.filter(delivered_date__isnull=False).order_by("-delivered_date", "-id")
    return qs
