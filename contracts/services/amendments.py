"""Amendments, co-terminated with the contract (DESIGN §3 "Amendments").

`contract_amendment_preview` and `contract_amend` take the same request and go through the same
planning (`_plan`), which calls the pure `contracts.scheduling.plan_change`: what the preview
shows is what the amendment writes. The amendment locks the contract, its subscriptions and their
schedule rows, plans again under the lock, and cancels pending entries with a conditional update,
so an invoice run billing the same entries at the same moment makes one of the two fail cleanly.
"""

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from itertools import count

from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import Conflict, InvalidTransition, ValidationFailed
from billing_site.events import event_record, fields_of
from billing_site.limits import quantity_error, unit_price_error
from billing_site.money import round_unit, to_decimal
from billing_site.numbering import number_assign
from catalog.models import Product
from contracts import scheduling
from contracts.models import AmendmentType, Contract, Order, OrderProduct, ScheduleEntry, Subscription

from .orders import (
    _user,
    line_total,
    product_check_ready,
    product_price,
    subscription_create,
    temporary_number,
)
from .schedule import entry_of, row_of, schedule_extension, subscription_extend_schedule, terms_of

ZERO = Decimal("0")
QUANTITY_TYPES = {AmendmentType.ADD_QUANTITY, AmendmentType.REDUCE_QUANTITY}
SUBSCRIPTION_TYPES = {*QUANTITY_TYPES, AmendmentType.CHANGE_PRICE, AmendmentType.CANCEL_SUBSCRIPTION}


@dataclass(frozen=True)
class AmendmentRequest:
    """One change to a contract. `quantity` is the change for add/reduce and the quantity of an added product."""

    type: str
    effective_date: date | None
    subscription: Subscription | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    product: Product | None = None


@dataclass
class ItemPlan:
    """What the amendment does to one subscription (existing, or new for add product / price change)."""

    label: str
    old_quantity: Decimal
    new_quantity: Decimal
    plan: scheduling.Plan
    subscription: Subscription | None = None
    # For a new subscription: its product, price and terms.
    product: Product | None = None
    unit_price: Decimal | None = None
    list_unit_price: Decimal | None = None
    pricing_snapshot: dict = field(default_factory=dict)
    terms: scheduling.Terms | None = None


@dataclass
class AmendmentPreview:
    contract: Contract
    request: AmendmentRequest
    items: list[ItemPlan]
    today: date | None = None

    @property
    def bill_date(self) -> date | None:
        """The one date everything written for time already billed is billed on: the later of D and today."""
        if self.request.effective_date is None:
            return None
        return max(self.request.effective_date, self.today or self.request.effective_date)

    @property
    def cancelled_amount(self) -> Decimal:
        return sum((i.plan.cancelled_amount for i in self.items), ZERO)

    @property
    def credits_amount(self) -> Decimal:
        return sum((e.amount or ZERO for i in self.items for e in i.plan.credits), ZERO)

    @property
    def charges_amount(self) -> Decimal:
        return sum((e.amount or ZERO for i in self.items for e in [*i.plan.replacements, *i.plan.charges]), ZERO)

    @property
    def net_amount(self) -> Decimal:
        """How the total the contract will bill changes: new entries minus cancelled pending entries."""
        return sum((i.plan.net_amount for i in self.items), ZERO)


def contract_amendment_preview(*, contract: Contract, request: AmendmentRequest, today: date | None = None) -> AmendmentPreview:
    """Every cancellation, credit and charge the amendment would make, with periods and factors; writes nothing."""
    today = today or clock.today()
    contract = Contract.objects.select_related("account", "price_book").get(pk=contract.pk)
    subscriptions = list(contract.subscriptions.select_related("product").order_by("id"))
    entries = _entries_by_subscription(subscriptions, lock=False)
    unwritten = count(-1, -1)  # ids of the entries the amendment would first write (negative: not rows yet)
    for sub in subscriptions:
        if sub.end_date is not None:
            # As `contract_amend` does: the rest of a migrated contract's schedule (on these objects only), then the change.
            rest = schedule_extension(sub, until=sub.end_date)
            entries[sub.pk] += [replace(e, id=next(unwritten)) for e in rest]
    return _plan(contract=contract, subscriptions=subscriptions, entries=entries, request=request, today=today)


def contract_amend(*, contract: Contract, request: AmendmentRequest, actor, today: date | None = None) -> Order:
    """Apply an amendment: an activated amendment order with delta lines, and the adjusted schedules."""
    today = today or clock.today()
    with transaction.atomic():
        # Lock order: contract, then its subscriptions, then their schedule rows (invoicing takes
        # schedule rows only, by a conditional update, so it cannot deadlock with us).
        contract = Contract.objects.select_for_update().select_related("account", "price_book").get(pk=contract.pk)
        subscriptions = list(Subscription.objects.select_for_update().filter(contract=contract).select_related("product").order_by("id"))
        _check_contract(contract)
        effective = request.effective_date
        if effective is not None:
            for sub in subscriptions:
                if sub.end_date is None and sub.status == Subscription.Status.ACTIVE:
                    # An evergreen schedule must reach past the effective date before it is cut there.
                    subscription_extend_schedule(subscription=sub, until=effective + timedelta(days=1))
                elif sub.end_date is not None and sub.is_partly_scheduled and sub.is_active:
                    # A migrated contract's schedule is written to its end before it is changed.
                    subscription_extend_schedule(subscription=sub, until=sub.end_date)
            subscriptions = list(Subscription.objects.filter(contract=contract).select_related("product").order_by("id"))
        entries = _entries_by_subscription(subscriptions, lock=True)
        preview = _plan(contract=contract, subscriptions=subscriptions, entries=entries, request=request, today=today)
        return _write(contract=contract, preview=preview, actor=actor, today=today)


def _entries_by_subscription(subscriptions, *, lock: bool) -> dict[int, list[scheduling.Entry]]:
    qs = ScheduleEntry.objects.filter(subscription__in=[s.pk for s in subscriptions]).order_by("period_start", "id")
    if lock:
        qs = qs.select_for_update()
    result: dict[int, list[scheduling.Entry]] = {s.pk: [] for s in subscriptions}
    for row in qs:
        result[row.subscription_id].append(entry_of(row))
    return result


def _check_contract(contract: Contract) -> None:
    if contract.status in (Contract.Status.CANCELLED, Contract.Status.EXPIRED):
        raise InvalidTransition(
            _("Contract %(number)s is %(status)s and cannot be amended.")
            % {"number": contract.number, "status": contract.get_status_display().lower()}
        )


def _date(value: date) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT")


def _check_effective(contract: Contract, effective: date | None) -> date:
    if effective is None:
        raise ValidationFailed(fields={"effective_date": [_("Enter the effective date.")]})
    if effective < contract.start_date or (contract.end_date is not None and effective >= contract.end_date):
        if contract.end_date is None:
            message = _("The effective date must be on or after the contract's start (%(start)s).") % {"start": _date(contract.start_date)}
        else:
            message = _("The effective date must be within the contract (%(start)s to %(last)s).") % {
                "start": _date(contract.start_date), "last": _date(contract.end_date - timedelta(days=1)),
            }
        raise ValidationFailed(message, fields={"effective_date": [message]})
    return effective


def _plan(*, contract, subscriptions, entries, request: AmendmentRequest, today: date) -> AmendmentPreview:
    _check_contract(contract)
    try:
        kind = AmendmentType(request.type)
    except ValueError:
        raise ValidationFailed(fields={"type": [_("Choose what to change.")]}) from None
    effective = _check_effective(contract, request.effective_date)
    by_id = {s.pk: s for s in subscriptions}
    items: list[ItemPlan] = []

    if kind == AmendmentType.CANCEL_CONTRACT:
        live = [s for s in subscriptions if s.status == Subscription.Status.ACTIVE]
        if not live:
            raise ValidationFailed(_("The contract has no active subscription to cancel."))
        for sub in live:
            items.append(_change(sub=sub, entries=entries[sub.pk], effective=max(effective, sub.start_date), new_quantity=ZERO,
                                 today=today, contract=contract))
        return AmendmentPreview(contract=contract, request=request, items=items, today=today)

    if kind == AmendmentType.ADD_PRODUCT:
        items.append(_new_subscription(contract=contract, request=request, effective=effective, today=today))
        return AmendmentPreview(contract=contract, request=request, items=items, today=today)

    sub = request.subscription
    if sub is None:
        raise ValidationFailed(fields={"subscription": [_("Choose the subscription to change.")]})
    sub = by_id.get(sub.pk)
    if sub is None:
        raise ValidationFailed(fields={"subscription": [_("This subscription is not on contract %(number)s.") % {"number": contract.number}]})
    if sub.status != Subscription.Status.ACTIVE:
        raise ValidationFailed(fields={"subscription": [_("This subscription is cancelled; it cannot be changed.")]})
    if effective < sub.start_date:
        message = _("The effective date is before the subscription starts (%(start)s).") % {"start": _date(sub.start_date)}
        raise ValidationFailed(message, fields={"effective_date": [message]})
    if sub.charge_type == Product.ChargeType.ONE_TIME and kind != AmendmentType.CANCEL_SUBSCRIPTION:
        raise ValidationFailed(fields={"subscription": [_("A one-time product cannot be changed, only cancelled.")]})
    if sub.charge_type == Product.ChargeType.USAGE and kind in QUANTITY_TYPES:
        raise ValidationFailed(fields={"subscription": [_("Usage is billed on what is used: its quantity is not amended.")]})

    if kind in QUANTITY_TYPES:
        delta = _positive(request.quantity, "quantity")
        new_quantity = sub.quantity + delta if kind == AmendmentType.ADD_QUANTITY else sub.quantity - delta
        if new_quantity < 0:
            message = _("The quantity cannot go below zero: the subscription has %(quantity)s.") % {"quantity": scheduling.plain(sub.quantity)}
            raise ValidationFailed(message, fields={"quantity": [message]})
        items.append(_change(sub=sub, entries=entries[sub.pk], effective=effective, new_quantity=new_quantity, today=today, contract=contract))
    elif kind == AmendmentType.CANCEL_SUBSCRIPTION:
        items.append(_change(sub=sub, entries=entries[sub.pk], effective=effective, new_quantity=ZERO, today=today, contract=contract))
    else:  # change price: cancel at D, and the same product from D at the new price
        price = request.unit_price
        if price in (None, ""):
            raise ValidationFailed(fields={"unit_price": [_("Enter the new unit price.")]})
        price = _unit_price(price)
        if price == sub.unit_price:
            raise ValidationFailed(fields={"unit_price": [_("The new price is the same as the current one.")]})
        old = _change(sub=sub, entries=entries[sub.pk], effective=effective, new_quantity=ZERO, today=today, contract=contract)
        items.append(old)
        terms = terms_of(sub, unit_price=price)
        charges = scheduling.entries_for(terms=terms, quantity=sub.quantity, start=effective, end=sub.end_date,
                                         until=_until(sub))
        # The new price for time already billed is billed with the credit of the old price, on one date.
        bill_date = max(effective, today)
        credited = [(c.period_start, c.period_end) for c in old.plan.credits]
        charges = [
            replace(c, bill_on=bill_date) if any(c.period_start < end and c.period_end > start for start, end in credited) else c
            for c in charges
        ]
        items.append(
            ItemPlan(
                label=_("%(product)s at the new price") % {"product": sub.product.name}, old_quantity=ZERO,
                new_quantity=sub.quantity, plan=scheduling.Plan(charges=charges), product=sub.product, unit_price=price,
                list_unit_price=sub.origin.list_unit_price if sub.origin_id else price, pricing_snapshot=sub.pricing_snapshot,
                terms=terms, subscription=sub,
            )
        )
    return AmendmentPreview(contract=contract, request=request, items=items, today=today)


def _positive(value, name: str) -> Decimal:
    if value in (None, ""):
        raise ValidationFailed(fields={name: [_("Enter a quantity greater than zero.")]})
    try:
        value = to_decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationFailed(fields={name: [_("Enter a quantity greater than zero.")]}) from None
    if value.is_finite() and value <= 0:
        raise ValidationFailed(fields={name: [_("Enter a quantity greater than zero.")]})
    if error := quantity_error(value):
        raise ValidationFailed(fields={name: [error]})
    return value


def _unit_price(value) -> Decimal:
    """A new unit price typed for an amendment: a number, not negative, within the limits."""
    try:
        price = to_decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationFailed(fields={"unit_price": [_("Enter the new unit price.")]}) from None
    if error := unit_price_error(price):
        raise ValidationFailed(fields={"unit_price": [error]})
    price = round_unit(price)
    if price < 0:
        raise ValidationFailed(fields={"unit_price": [_("The unit price must not be negative.")]})
    return price


def _until(sub: Subscription) -> date | None:
    if sub.end_date is not None:
        return None
    return sub.scheduled_until or sub.start_date


def _change(*, sub, entries, effective, new_quantity, today, contract) -> ItemPlan:
    plan = scheduling.plan_change(
        terms=terms_of(sub), entries=entries, effective=effective, new_quantity=new_quantity, end=sub.end_date,
        until=_until(sub), today=today,
    )
    # Entries an evergreen preview would only create to cancel them again are not shown.
    plan.cancelled = [e for e in plan.cancelled if e.id is not None]
    if new_quantity == sub.quantity and new_quantity > 0:
        raise ValidationFailed(fields={"quantity": [_("The new quantity is the same as the current one.")]})
    return ItemPlan(label=sub.product.name, old_quantity=sub.quantity, new_quantity=new_quantity, plan=plan, subscription=sub)


def _new_subscription(*, contract: Contract, request: AmendmentRequest, effective: date, today: date) -> ItemPlan:
    product = request.product
    if product is None:
        raise ValidationFailed(fields={"product": [_("Choose the product to add.")]})
    quantity = _positive(request.quantity, "quantity")
    product_check_ready(product=product)
    price = product_price(product=product, price_book=contract.price_book, currency=contract.currency, quantity=quantity)
    net = price.net_unit_price
    if request.unit_price not in (None, ""):
        net = _unit_price(request.unit_price)
    rule = product.billing_rule
    assert rule is not None, "product_check_ready() refuses a product without a billing rule"
    terms = scheduling.Terms(
        charge_type=product.charge_type, unit_price=net, price_term_months=product.term_months,
        frequency_months=product.billing_frequency,
        billing_type=Product.BillingType.ARREARS if product.charge_type == Product.ChargeType.USAGE else product.billing_type,
        boundary=rule.period_boundary, day_count=rule.day_count, currency=contract.currency,
        anchor=contract.start_date, billing_day=contract.billing_day,
    )
    until = None
    if contract.end_date is None:
        until = max([s.scheduled_until for s in contract.subscriptions.all() if s.scheduled_until] + [effective + timedelta(days=1)])
    charges = scheduling.entries_for(terms=terms, quantity=quantity, start=effective, end=contract.end_date, until=until)
    return ItemPlan(
        label=product.name, old_quantity=ZERO, new_quantity=quantity, plan=scheduling.Plan(charges=charges),
        product=product, unit_price=net, list_unit_price=price.list_unit_price, pricing_snapshot=price.snapshot, terms=terms,
    )


def _write(*, contract: Contract, preview: AmendmentPreview, actor, today: date) -> Order:
    request = preview.request
    effective = request.effective_date
    assert effective is not None, "the preview refused an amendment without an effective date"
    order = Order.objects.create(
        number=temporary_number(), account=contract.account, type=Order.Type.AMENDMENT, status=Order.Status.ACTIVATED,
        contract=contract, price_book=contract.price_book, currency=contract.currency, start_date=effective,
        term_months=contract.term_months, effective_date=effective, amendment_type=request.type,
        payment_terms_days=contract.payment_terms_days, evergreen=contract.evergreen, created_by=_user(actor),
        activated_at=clock.now(), activated_by=_user(actor),
    )
    number_assign(order)
    months_left = _months_left(contract, effective)
    for item in preview.items:
        plan = item.plan
        if item.product is not None:
            # _new_subscription sets the prices with the product.
            assert item.unit_price is not None and item.list_unit_price is not None
            op = OrderProduct.objects.create(
                order=order, product=item.product, quantity=item.new_quantity, list_unit_price=item.list_unit_price,
                net_unit_price=item.unit_price, price_term_months=item.product.term_months,
                pricing_snapshot=item.pricing_snapshot, start_date=effective, end_date=contract.end_date,
                total_amount=line_total(product=item.product, net_unit_price=item.unit_price, quantity=item.new_quantity,
                                        term_months=months_left, price_term_months=item.product.term_months,
                                        currency=contract.currency),
            )
            old = item.subscription
            # A new product is sold by the book's entity today; a new price continues the subscription's.
            sub = subscription_create(
                contract=contract, order_product=op, start=effective, end=contract.end_date,
                anchor=(old.period_anchor or old.start_date) if old is not None else contract.start_date,
                legal_entity=old.legal_entity if old is not None else None,
            )
            if contract.end_date is None:
                sub.scheduled_until = max([e.period_end for e in plan.charges], default=effective)
                sub.save(update_fields=["scheduled_until"])
            ScheduleEntry.objects.bulk_create([row_of(e, subscription=sub, order=order) for e in plan.charges])
            continue
        assert item.subscription is not None, "an item without a product changes an existing subscription"
        sub = item.subscription
        delta = item.new_quantity - item.old_quantity
        OrderProduct.objects.create(
            order=order, product=sub.product, quantity=delta, list_unit_price=sub.origin.list_unit_price,
            net_unit_price=sub.unit_price, price_term_months=sub.price_term_months, pricing_snapshot=sub.pricing_snapshot,
            start_date=effective, end_date=sub.end_date, subscription=sub,
            total_amount=sum((e.amount or ZERO for e in plan.new_entries), ZERO) - plan.cancelled_amount,
        )
        cancel_ids = [e.id for e in plan.cancelled if e.id is not None]  # stored rows: all have one
        if cancel_ids:
            updated = ScheduleEntry.objects.filter(pk__in=cancel_ids, status=ScheduleEntry.Status.PENDING).update(
                status=ScheduleEntry.Status.CANCELLED, cancelled_by=order
            )
            if updated != len(cancel_ids):
                raise Conflict(_("The schedule changed while the amendment was being applied (an invoice run?). Try again."))
        ScheduleEntry.objects.bulk_create([row_of(e, subscription=sub, order=order) for e in plan.new_entries])
        fields = ["quantity"]
        sub.quantity = item.new_quantity
        if item.new_quantity == 0:
            sub.status = Subscription.Status.CANCELLED
            sub.end_date = effective
            fields += ["status", "end_date"]
        sub.save(update_fields=fields)
    if request.type == AmendmentType.CANCEL_CONTRACT:
        before = contract.status
        contract.status = Contract.Status.CANCELLED
        contract.cancelled_on = effective
        contract.save(update_fields=["status", "cancelled_on"])
        audit_record(obj=contract, action="cancelled", actor=actor, from_state=before, to_state=contract.status,
                     message=_("Effective %(date)s") % {"date": effective.isoformat()})
        event_record(type="contract.cancelled", account_id=contract.account_id, payload=fields_of(contract, "id", "number", "status", "cancelled_on"))
    audit_record(
        obj=contract, action="amended", actor=actor, message=f"{order.number}: {order.get_amendment_type_display()}",
        data={
            "order": order.number, "type": request.type, "effective_date": effective.isoformat(),
            "credits": str(preview.credits_amount), "charges": str(preview.charges_amount),
            "cancelled": str(preview.cancelled_amount),
        },
    )
    audit_record(obj=order, action="activated", actor=actor, to_state=order.status)
    event_record(type="contract.amended", account_id=contract.account_id, payload={
        **fields_of(contract, "id", "number", "status"), "order_id": order.pk, "order_number": order.number,
        "amendment_type": request.type, "effective_date": effective})
    return order


def _months_left(contract: Contract, effective: date) -> int:
    if contract.end_date is None:
        return contract.term_months
    months = (contract.end_date.year - effective.year) * 12 + contract.end_date.month - effective.month
    return max(months, 1)
