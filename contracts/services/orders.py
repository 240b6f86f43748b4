"""Orders: created by finance or from an accepted quote, then activated into a contract."""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from uuid import uuid4

from django.db import transaction
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import InvalidTransition, ValidationFailed
from billing_site.events import event_record, fields_of
from billing_site.limits import quantity_error, unit_price_precision_error
from billing_site.money import round_unit, to_decimal
from billing_site.numbering import number_assign
from catalog.models import LegalEntity, PriceBook, PriceBookEntry, Product
from catalog.pricing import (
    PricingError,
    add_months,
    amount_for_piece,
    apply_discount,
    billing_periods,
    price_for_quantity,
    prorate_multiplier,
    spec_to_snapshot,
)
from catalog.selectors import entry_for, legal_entity_for
from contracts.models import Contract, Order, OrderProduct, RenewalPricing, Subscription
from customers.models import Account

from .schedule import schedule_create

ORDER_FIELDS = (
    "account", "price_book", "start_date", "term_months", "evergreen", "auto_renew", "renewal_term_months",
    "renewal_pricing", "uplift_percent", "payment_terms_days", "notes",
)


def temporary_number() -> str:
    """A unique placeholder until the primary key gives the real number."""
    return f"TMP-{uuid4().hex[:16]}"


@dataclass(frozen=True)
class ProductPrice:
    list_unit_price: Decimal
    net_unit_price: Decimal
    snapshot: dict
    entry: PriceBookEntry


def product_check_ready(*, product: Product, field: str = "product") -> None:
    """Refuse a product that cannot be billed (inactive, no billing rule or tax rule)."""
    problems = []
    if not product.active:
        problems.append(_("%(product)s is inactive.") % {"product": product.name})
    if product.billing_rule_id is None:
        problems.append(_("%(product)s has no billing rule.") % {"product": product.name})
    if product.tax_rule_id is None:
        problems.append(_("%(product)s has no tax rule.") % {"product": product.name})
    if problems:
        raise ValidationFailed(" ".join(problems), fields={field: problems})


def product_price(
    *, product: Product, price_book: PriceBook, currency: str, quantity, discount_percent=None, field: str = "product"
) -> ProductPrice:
    """The list and net unit price of `quantity` of a product in a book, by the pricing engine."""
    entry = entry_for(product=product, price_book=price_book)
    other_currency = None
    if entry is None:
        other = (
            PriceBookEntry.objects.filter(product=product, active=True).exclude(price_book__currency=currency)
            .select_related("price_book").first()
        )
        other_currency = other.price_book.currency if other is not None else None
    return price_from_entry(
        product=product, price_book=price_book, entry=entry, other_currency=other_currency, currency=currency,
        quantity=quantity, discount_percent=discount_percent, field=field,
    )


def price_from_entry(
    *, product: Product, price_book: PriceBook, entry: PriceBookEntry | None, other_currency: str | None, currency: str,
    quantity, discount_percent=None, field: str = "product",
) -> ProductPrice:
    """`product_price` on an entry already loaded (None: the book has no active price; `other_currency`:
    the currency of the product's price in another book, if any). No database access: bulk imports
    load the entries in one query and price every line with this."""
    entry_currency = str(entry.unit_price.currency) if entry is not None and entry.unit_price is not None else None  # type: ignore[attr-defined]  # a MoneyField holds Money; django-money ships no type stubs
    if entry is None:
        if other_currency is not None:
            entry_currency = other_currency
        else:
            message = _("%(product)s has no active price in the price book %(book)s.") % {
                "product": product.name, "book": price_book.name,
            }
            raise ValidationFailed(message, fields={field: [message]})
    if entry_currency is not None and entry_currency != currency:
        message = _("%(product)s is priced in %(currency)s, not in the contract's currency (%(contract_currency)s).") % {
            "product": product.name, "currency": entry_currency, "contract_currency": currency,
        }
        raise ValidationFailed(message, fields={field: [message]})
    assert entry is not None  # without an entry, one of the two refusals above was raised
    try:
        quantity = to_decimal(quantity)
    except (InvalidOperation, TypeError, ValueError):
        message = _("Enter a quantity.")
        raise ValidationFailed(message, fields={"quantity": [message]}) from None
    if error := quantity_error(quantity):
        raise ValidationFailed(error, fields={"quantity": [error]})
    try:
        if product.charge_type == Product.ChargeType.USAGE or quantity <= 0:
            unit = entry.unit_price.amount if entry.unit_price is not None else Decimal("0")  # type: ignore[attr-defined]  # a MoneyField holds Money; django-money ships no type stubs
            list_price = round_unit(unit)
        else:
            extended = price_for_quantity(spec=entry.price_spec(), quantity=quantity)
            # A tiered or package price becomes a unit price for the quantity ordered (6 places).
            list_price = _unit_of(extended, quantity)
            if error := unit_price_precision_error(extended=extended, unit_price=list_price, quantity=quantity, currency=currency):
                raise ValidationFailed(error, fields={"quantity": [error]})
        net = apply_discount(list_unit_price=list_price, percent=discount_percent)
    except PricingError as exc:
        raise ValidationFailed(str(exc), fields={field: [str(exc)]}) from exc
    snapshot = {
        **spec_to_snapshot(entry.price_spec()),
        "price_book": price_book.name, "entry": entry.pk, "currency": currency, "discount_percent": str(discount_percent) if discount_percent is not None else None,
    }
    return ProductPrice(list_unit_price=list_price, net_unit_price=net, snapshot=snapshot, entry=entry)


def _unit_of(extended: Decimal, quantity: Decimal) -> Decimal:
    """Extended price ÷ quantity, half-up to 6 places, computed exactly."""
    exact = Fraction(extended) / Fraction(quantity)
    scaled = exact * 10**6
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    return round_unit(Decimal(whole).scaleb(-6))


def line_total(*, product: Product, net_unit_price: Decimal, quantity: Decimal, term_months: int, price_term_months: int, currency: str) -> Decimal:
    """The order line's total over its term (DESIGN §3 "Quote pricing")."""
    if product.charge_type == Product.ChargeType.USAGE:
        return Decimal("0")
    factor: Fraction | int = 1
    if product.charge_type == Product.ChargeType.RECURRING:
        factor = prorate_multiplier(line_term_months=term_months, default_term_months=price_term_months)
    return amount_for_piece(unit_price=net_unit_price, quantity=quantity, factor=factor, currency=currency)


def _validate_order_data(data: dict) -> dict:
    errors = {}
    account = data.get("account")
    book = data.get("price_book")
    if account is None:
        errors["account"] = [_("Choose an account.")]
    elif account.status == Account.Status.CLOSED:
        errors["account"] = [_("This account is closed.")]
    if book is None:
        errors["price_book"] = [_("Choose a price book.")]
    elif not book.active:
        errors["price_book"] = [_("This price book is inactive.")]
    elif account is not None and book.currency != account.currency:
        errors["price_book"] = [
            _("The price book is in %(book)s but the account is billed in %(account)s.")
            % {"book": book.currency, "account": account.currency}
        ]
    if data.get("start_date") is None:
        errors["start_date"] = [_("Enter the start date.")]
    term = data.get("term_months")
    if not data.get("evergreen") and (term is None or term < 1):
        errors["term_months"] = [_("The term must be at least one month.")]
    uplift = to_decimal(data.get("uplift_percent") or 0)
    if not Decimal("0") <= uplift <= Decimal("100"):
        errors["uplift_percent"] = [_("The uplift must be between 0 and 100 %.")]
    if data.get("renewal_pricing") and data["renewal_pricing"] not in RenewalPricing.values:
        errors["renewal_pricing"] = [_("Unknown renewal pricing.")]
    if errors:
        raise ValidationFailed(fields=errors)
    return data


@transaction.atomic
def order_create(*, actor, data: dict) -> Order:
    """Create a draft order (finance, directly): its currency is the price book's."""
    order = order_build(actor=actor, data=data)
    order.save()
    number_assign(order)
    audit_record(obj=order, action="created", actor=actor, to_state=order.status)
    return order


def order_build(*, actor, data: dict) -> Order:
    """A validated draft order, not saved (the number is a placeholder until the primary key exists)."""
    unknown = set(data) - set(ORDER_FIELDS)
    if unknown:
        raise ValidationFailed(fields={f: [_("Unknown field.")] for f in unknown})
    data = _validate_order_data(dict(data))
    account = data["account"]
    if data.get("payment_terms_days") is None:
        data["payment_terms_days"] = account.payment_terms_days
    data = {k: v for k, v in data.items() if v is not None}
    order = Order(number=temporary_number(), currency=data["price_book"].currency, created_by=_user(actor), **data)
    if order.evergreen:
        order.auto_renew = False
    return order


def _locked_draft(order: Order) -> Order:
    order = Order.objects.select_for_update().select_related("price_book").get(pk=order.pk)
    if order.status != Order.Status.DRAFT:
        raise InvalidTransition(_("Order %(number)s is %(status)s; only a draft can be changed.") % {
            "number": order.number, "status": order.get_status_display().lower(),
        })
    return order


def order_product_values(
    *, order: Order, product: Product, quantity, price_of, discount_percent=None, start_date: date | None = None,
    end_date: date | None = None, net_unit_price=None, delivery_due_date: date | None = None,
) -> dict:
    """The fields of a new order product, every check of `order_product_add` made, nothing written.

    `price_of(quantity)` prices the line (`product_price`, or `price_from_entry` on a loaded entry)."""
    quantity = to_decimal(quantity) if quantity not in (None, "") else None
    if quantity is None or quantity <= 0:
        raise ValidationFailed(fields={"quantity": [_("Enter a quantity greater than zero.")]})
    product_check_ready(product=product)
    price = price_of(quantity)
    if net_unit_price not in (None, ""):
        net = to_decimal(net_unit_price)
        if net < 0:
            raise ValidationFailed(fields={"net_unit_price": [_("The unit price must not be negative.")]})
        price = replace(price, net_unit_price=round_unit(net))
    start = start_date or order.start_date
    end = end_date
    _check_product_dates(order=order, start=start, end=end)
    term = order.term_months if end is None else _months_between(start, end)
    return dict(
        product=product, quantity=quantity, list_unit_price=price.list_unit_price,
        net_unit_price=price.net_unit_price, price_term_months=product.term_months, pricing_snapshot=price.snapshot,
        start_date=start, end_date=end,
        delivery_due_date=(delivery_due_date or start) if product.needs_delivery else None,
        total_amount=line_total(
            product=product, net_unit_price=price.net_unit_price, quantity=quantity, term_months=term,
            price_term_months=product.term_months, currency=order.currency,
        ),
    )


@transaction.atomic
def order_product_add(
    *, order: Order, actor, product: Product, quantity, discount_percent=None, start_date: date | None = None,
    end_date: date | None = None, net_unit_price=None, delivery_due_date: date | None = None,
) -> OrderProduct:
    """Add a product to a draft order, priced from the order's price book by the pricing engine.

    `net_unit_price` (finance, e.g. a contract migrated from another system) replaces the book's
    net price; the list price stays the book's so the discount given remains visible."""
    order = _locked_draft(order)
    op = OrderProduct(order=order, **order_product_values(
        order=order, product=product, quantity=quantity, discount_percent=discount_percent, start_date=start_date,
        end_date=end_date, net_unit_price=net_unit_price, delivery_due_date=delivery_due_date,
        price_of=lambda quantity: product_price(
            product=product, price_book=order.price_book, currency=order.currency, quantity=quantity,
            discount_percent=discount_percent,
        ),
    ))
    op.save()
    audit_record(obj=order, action="product_added", actor=actor, message=str(op))
    return op


def _months_between(start: date, end: date) -> int:
    return max((end.year - start.year) * 12 + end.month - start.month, 1)


def _order_end(order: Order) -> date | None:
    if order.evergreen:
        return None
    return add_months(anchor=order.start_date, months=order.term_months)


def _check_product_dates(*, order: Order, start: date, end: date | None) -> None:
    contract_end = _order_end(order)
    errors = {}
    if start < order.start_date or (contract_end is not None and start >= contract_end):
        errors["start_date"] = [_("The product must start within the order's term.")]
    if end is not None and (end <= start or (contract_end is not None and end > contract_end)):
        errors["end_date"] = [_("The product must end after it starts and no later than the order's term.")]
    if errors:
        raise ValidationFailed(fields=errors)


@transaction.atomic
def order_product_remove(*, order_product: OrderProduct, actor) -> None:
    """Remove a product from a draft order."""
    order = _locked_draft(order_product.order)
    label = str(order_product)
    order_product.delete()
    audit_record(obj=order, action="product_removed", actor=actor, message=label)


@transaction.atomic
def order_create_from_quote(*, quote, actor) -> Order:
    """Accept a quote and create its draft order, prices copied exactly; a second call returns the same order."""
    from quotes.models import Quote

    quote = Quote.objects.select_for_update().select_related("account", "price_book").get(pk=quote.pk)
    existing = Order.objects.filter(quote=quote).first()
    if existing is not None:
        return existing
    _quote_accept(quote=quote, actor=actor)
    order = Order.objects.create(
        number=temporary_number(), account=quote.account, quote=quote, type=Order.Type.NEW,
        price_book=quote.price_book, currency=quote.currency, start_date=quote.start_date,
        term_months=quote.term_months, payment_terms_days=quote.payment_terms_days, created_by=_user(actor),
        notes=quote.notes,
    )
    number_assign(order)
    OrderProduct.objects.bulk_create(
        [
            OrderProduct(
                order=order, product=line.product, quantity=line.quantity, list_unit_price=line.list_unit_price,
                net_unit_price=line.net_unit_price, price_term_months=line.price_term_months,
                pricing_snapshot=line.pricing_snapshot, start_date=line.start_date,
                # A line running to the quote's end is co-terminated with the contract.
                end_date=None if line.end_date == add_months(anchor=quote.start_date, months=quote.term_months) else line.end_date,
                delivery_due_date=line.start_date if line.product.needs_delivery else None,
                total_amount=line.line_total,
            )
            for line in quote.lines.select_related("product").order_by("position", "id")
        ]
    )
    audit_record(obj=order, action="created", actor=actor, to_state=order.status, message=_("From quote %(quote)s") % {"quote": quote})
    return order


def _quote_accept(*, quote, actor) -> None:
    """Mark the quote accepted through the quotes stage's service (an earlier stage: always there)."""
    from quotes.models import Quote
    from quotes.services import quote_accept

    if quote.status != Quote.Status.ACCEPTED:
        quote_accept(quote=quote, actor=actor)


def order_activate(
    *, order: Order, actor, today: date | None = None, billed_through: date | None = None, migrated: bool = False
) -> Contract:
    """Activate a draft order: its contract, subscriptions and billing schedule. Idempotent.

    `billed_through` (a contract migrated from another system) is the last day the old system
    already invoiced: the schedule starts the day after, which must be a period boundary of every
    recurring line, so the first Recur invoice covers exactly the first period after it. A
    `migrated` contract (the contracts import) is scheduled `MIGRATED_SCHEDULE_MONTHS` ahead, not to
    its end: the daily job writes the rest (`schedule_plan`)."""
    today = today or clock.today()
    with transaction.atomic():
        # The row lock makes a second activation wait, then find the order activated.
        order = Order.objects.select_for_update().select_related("account", "price_book").get(pk=order.pk)
        # Checked first: an amendment order is activated by its amendment and has no contract of its own.
        if order.type == Order.Type.AMENDMENT:
            raise InvalidTransition(_("Amendment orders are activated by the amendment itself."))
        if order.status == Order.Status.ACTIVATED:
            return Contract.objects.get(order=order)
        if order.status != Order.Status.DRAFT:
            raise InvalidTransition(_("Order %(number)s is cancelled and cannot be activated.") % {"number": order.number})
        products = list(order.products.select_related("product__billing_rule__legal_entity", "product__tax_rule"))
        _validate_activation(order=order, products=products)
        end = _order_end(order)
        contract = contract_build(order=order)
        contract.save()
        number_assign(contract)
        for op in products:
            subscription = subscription_create(contract=contract, order_product=op, start=op.start_date, end=op.end_date or end,
                                               anchor=contract.start_date)
            start = billing_start(subscription=subscription, order_product=op, billed_through=billed_through)
            if start is not None:
                schedule_create(subscription=subscription, order=order, quantity=op.quantity, start=start, today=today,
                                ahead=migrated)
        order.status = Order.Status.ACTIVATED
        if order.type == Order.Type.NEW:
            order.contract = contract
        order.activated_at = clock.now()
        order.activated_by = _user(actor)
        order.save(update_fields=["status", "contract", "activated_at", "activated_by"])
        audit_record(obj=order, action="activated", actor=actor, from_state=Order.Status.DRAFT, to_state=order.status,
                     message=contract.number)
        audit_record(obj=contract, action="created", actor=actor, to_state=contract.status, message=order.number)
        event_record(type="order.activated", account_id=order.account_id, payload={
            **fields_of(order, "id", "number", "type", "status"), "contract_id": contract.pk, "contract_number": contract.number})
        return contract


def contract_build(*, order: Order) -> Contract:
    """The contract an order activates, not saved (its number follows from the primary key)."""
    return Contract(
        number=temporary_number(), account=order.account, order=order, price_book=order.price_book,
        currency=order.currency, start_date=order.start_date, end_date=_order_end(order), term_months=order.term_months,
        evergreen=order.evergreen, auto_renew=order.auto_renew, renewal_term_months=order.renewal_term_months,
        renewal_pricing=order.renewal_pricing, uplift_percent=order.uplift_percent,
        payment_terms_days=order.payment_terms_days, billing_day=order.account.billing_day,
    )


def billing_start(*, subscription: Subscription, order_product: OrderProduct, billed_through: date | None) -> date | None:
    """The day a new subscription's schedule starts (None: nothing to schedule now).

    After `billed_through` (a migrated contract), which must end a billing period; a one-time
    product or a term the old system billed whole schedules nothing, nor does a product billed on
    delivery (`order_product_deliver` schedules it)."""
    op = order_product
    start = op.start_date
    if billed_through is not None and billed_through >= op.start_date:
        start = billed_through + timedelta(days=1)
        if not resume_is_boundary(subscription=subscription, resume=start):
            raise ValidationFailed(
                _("%(product)s: billed through %(day)s is not the end of a billing period.")
                % {"product": op.product.name, "day": billed_through.isoformat()},
                fields={"billed_through": [_("Not the last day of a billing period.")]},
            )
        if subscription.end_date is not None and start >= subscription.end_date:
            return None  # the old system billed the whole term
        if op.product.charge_type == Product.ChargeType.ONE_TIME:
            return None  # billed by the old system
    if bills_on_delivery(op.product):
        return None  # `order_product_deliver` schedules it on the delivery date
    return start


def bills_on_delivery(product: Product) -> bool:
    """A one-time product that needs delivery, under a billing rule that bills it on delivery."""
    rule = product.billing_rule
    return (
        product.charge_type == Product.ChargeType.ONE_TIME and product.needs_delivery and rule is not None
        and rule.one_time_billing == rule.OneTimeBilling.DELIVERY
    )


def resume_is_boundary(*, subscription: Subscription, resume: date) -> bool:
    """Whether billing can resume on `resume`: the start of one of the subscription's billing periods."""
    if subscription.charge_type == Product.ChargeType.ONE_TIME:
        return True
    if subscription.end_date is not None and resume >= subscription.end_date:
        return resume == subscription.end_date
    anchor = subscription.period_anchor or subscription.start_date
    periods = billing_periods(
        start=min(anchor, subscription.start_date), end=subscription.end_date,
        frequency_months=subscription.billing_frequency, boundary=subscription.period_boundary,
        billing_day=subscription.billing_day, limit_until=None if subscription.end_date else resume + timedelta(days=1),
    )
    return any(p.start == resume for p in periods) or resume == subscription.start_date


def subscription_create(
    *, contract: Contract, order_product: OrderProduct, start: date, end: date | None, anchor: date,
    unit_price: Decimal | None = None, quantity: Decimal | None = None, legal_entity: LegalEntity | None = None,
) -> Subscription:
    """A subscription for an order product, its terms taken from the product and its billing rule.

    The issuing legal entity is the contract's price book's (else the billing rule's), chosen by
    `catalog.selectors.legal_entity_for`; pass `legal_entity` to continue an existing subscription's."""
    subscription = subscription_build(
        contract=contract, order_product=order_product, start=start, end=end, anchor=anchor, unit_price=unit_price,
        quantity=quantity, legal_entity=legal_entity,
    )
    subscription.save()
    return subscription


def subscription_build(
    *, contract: Contract, order_product: OrderProduct, start: date, end: date | None, anchor: date,
    unit_price: Decimal | None = None, quantity: Decimal | None = None, legal_entity: LegalEntity | None = None,
) -> Subscription:
    """`subscription_create` without the write: the subscription's fields, not saved."""
    product = order_product.product
    rule = product.billing_rule
    assert rule is not None, "an order only takes products ready to sell, which have a billing rule"
    if legal_entity is None:
        legal_entity = legal_entity_for(price_book=contract.price_book, product=product)
    return Subscription(
        contract=contract, account_id=contract.account_id, product=product, origin=order_product,
        charge_type=product.charge_type, quantity=order_product.quantity if quantity is None else quantity,
        unit_price=order_product.net_unit_price if unit_price is None else unit_price,
        price_term_months=order_product.price_term_months or product.term_months,
        pricing_snapshot=order_product.pricing_snapshot, currency=contract.currency,
        billing_frequency=product.billing_frequency,
        billing_type=Product.BillingType.ARREARS if product.charge_type == Product.ChargeType.USAGE else product.billing_type,
        period_boundary=rule.period_boundary, day_count=rule.day_count, billing_day=contract.billing_day,
        billing_rule=rule, legal_entity=legal_entity, tax_rule=product.tax_rule,
        start_date=start, end_date=end, period_anchor=anchor,
    )


def _validate_activation(*, order: Order, products: list[OrderProduct]) -> None:
    if not products:
        raise ValidationFailed(_("Add at least one product before activating the order."), fields={"products": [_("No products.")]})
    problems = []
    for op in products:
        try:
            product_check_ready(product=op.product)
            product_price(product=op.product, price_book=order.price_book, currency=order.currency, quantity=op.quantity)
        except ValidationFailed as exc:
            problems.extend(exc.fields.get("product", [str(exc.message)]))
        if op.quantity <= 0:
            problems.append(_("%(product)s: the quantity must be greater than zero.") % {"product": op.product.name})
    try:
        for op in products:
            _check_product_dates(order=order, start=op.start_date, end=op.end_date)
    except ValidationFailed as exc:
        problems.extend(m for messages in exc.fields.values() for m in messages)
    if problems:
        raise ValidationFailed(" ".join(problems), fields={"products": problems})


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None
