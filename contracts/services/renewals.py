"""Renewals: a contract nearing its end renews itself (auto-renew) or gets a renewal quote.

Each contract is renewed at most once: its row is locked while renewing, the renewal order is
unique per contract (database constraint) and the renewal quote is a one-to-one link.
"""

import logging
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import DomainError, InvalidTransition
from billing_site.events import event_record, fields_of
from billing_site.money import round_unit, sum_money
from billing_site.numbering import number_assign
from catalog.models import Product
from catalog.pricing import add_months, amount_for_piece, prorate_multiplier
from contracts.models import Contract, Order, OrderProduct, RenewalPricing, Subscription

from .orders import _user, line_total, order_activate, product_price, temporary_number

log = logging.getLogger(__name__)
HUNDRED = Decimal(100)


def renewal_notice_days() -> int:
    """How many days before its end a contract is renewed (setting RENEWAL_NOTICE_DAYS, default 60)."""
    return int(getattr(settings, "RENEWAL_NOTICE_DAYS", 60))


def renewal_price(*, contract: Contract, subscription: Subscription) -> Decimal:
    """The unit price a subscription renews at: the same, the current list price, or uplifted."""
    if contract.renewal_pricing == RenewalPricing.LIST:
        price = product_price(
            product=subscription.product, price_book=contract.price_book, currency=contract.currency,
            quantity=subscription.quantity,
        )
        return price.list_unit_price
    if contract.renewal_pricing == RenewalPricing.UPLIFT:
        return round_unit(subscription.unit_price * (HUNDRED + contract.uplift_percent) / HUNDRED)
    return subscription.unit_price


def _renewing_subscriptions(contract: Contract) -> list[Subscription]:
    """What carries over: active recurring and usage subscriptions running to the contract's end."""
    return [
        s for s in contract.subscriptions.select_related("product", "origin").order_by("id")
        if s.status == Subscription.Status.ACTIVE and s.charge_type != Product.ChargeType.ONE_TIME
        and s.end_date == contract.end_date and s.quantity > 0
    ]


def contract_renew(*, contract: Contract, actor, today: date | None = None):
    """Renew one contract now: auto-renew → a new activated contract; otherwise → a draft renewal quote.

    Returns the new contract or the quote; a second call returns the same one."""
    today = today or clock.today()
    with transaction.atomic():
        contract = Contract.objects.select_for_update().select_related("account", "price_book").get(pk=contract.pk)
        if contract.renewed_by_id:
            return contract.renewed_by
        if contract.renewal_quote_id:
            return contract.renewal_quote
        if contract.status not in (Contract.Status.ACTIVE,) or contract.end_date is None:
            raise InvalidTransition(
                _("Contract %(number)s cannot be renewed: only an active contract with an end date renews.")
                % {"number": contract.number}
            )
        subscriptions = _renewing_subscriptions(contract)
        if not subscriptions:
            raise InvalidTransition(_("Contract %(number)s has nothing to renew.") % {"number": contract.number})
        if contract.auto_renew:
            return _renew_contract(contract=contract, subscriptions=subscriptions, actor=actor, today=today)
        return _renewal_quote(contract=contract, subscriptions=subscriptions, actor=actor, today=today)


def _renew_contract(*, contract, subscriptions, actor, today) -> Contract:
    term = contract.renewal_term_months or contract.term_months
    order = Order.objects.create(
        number=temporary_number(), account=contract.account, type=Order.Type.RENEWAL, contract=contract,
        price_book=contract.price_book, currency=contract.currency, start_date=contract.end_date, term_months=term,
        payment_terms_days=contract.payment_terms_days, auto_renew=True, renewal_term_months=contract.renewal_term_months,
        renewal_pricing=contract.renewal_pricing, uplift_percent=contract.uplift_percent, created_by=_user(actor),
        notes=_("Renewal of %(number)s") % {"number": contract.number},
    )
    number_assign(order)
    for sub in subscriptions:
        price = renewal_price(contract=contract, subscription=sub)
        OrderProduct.objects.create(
            order=order, product=sub.product, quantity=sub.quantity, list_unit_price=sub.origin.list_unit_price,
            net_unit_price=price, price_term_months=sub.price_term_months, pricing_snapshot=sub.pricing_snapshot,
            start_date=contract.end_date, end_date=None,
            total_amount=line_total(product=sub.product, net_unit_price=price, quantity=sub.quantity, term_months=term,
                                    price_term_months=sub.price_term_months, currency=contract.currency),
        )
    audit_record(obj=order, action="created", actor=actor, to_state=order.status,
                 message=_("Renewal of %(number)s") % {"number": contract.number})
    new = order_activate(order=order, actor=actor, today=today)
    before = contract.status
    contract.renewed_by = new
    contract.status = Contract.Status.RENEWED
    contract.save(update_fields=["renewed_by", "status"])
    audit_record(obj=contract, action="renewed", actor=actor, from_state=before, to_state=contract.status, message=new.number)
    event_record(type="contract.renewed", account_id=contract.account_id, payload={
        **fields_of(contract, "id", "number", "status", "end_date"), "renewal_contract_id": new.pk, "renewal_contract_number": new.number})
    return new


def _renewal_quote(*, contract, subscriptions, actor, today):
    """A draft renewal quote priced by the contract's renewal rule.

    The header comes from the quotes stage's `quote_create` (its numbering, checks and audit). Its
    `quote_line_add` prices at the book's current price with discounts only, which cannot express a
    "same price" or an uplift above list, so the lines are written here with the same rules (net
    prices exact, line totals rounded once) and the totals summed from them."""
    from quotes.models import QuoteLine
    from quotes.services import quote_create

    term = contract.renewal_term_months or contract.term_months
    start = contract.end_date
    end = add_months(anchor=start, months=term)
    quote = quote_create(
        actor=actor, account=contract.account, price_book=contract.price_book, start_date=start, term_months=term,
        expiration_date=max(start - timedelta(days=1), today), payment_terms_days=contract.payment_terms_days,
        notes=_("Renewal of %(number)s") % {"number": contract.number}, today=today,
    )
    lines = []
    for position, sub in enumerate(subscriptions, start=1):
        price = renewal_price(contract=contract, subscription=sub)
        multiplier = prorate_multiplier(line_term_months=term, default_term_months=sub.price_term_months)
        lines.append(
            QuoteLine(
                quote=quote, position=position, product=sub.product, quantity=sub.quantity,
                list_unit_price=sub.origin.list_unit_price, net_unit_price=price, price_term_months=sub.price_term_months,
                pricing_snapshot=sub.pricing_snapshot, start_date=start, end_date=end,
                prorate_numerator=multiplier.numerator, prorate_denominator=multiplier.denominator,
                line_total=line_total(product=sub.product, net_unit_price=price, quantity=sub.quantity, term_months=term,
                                      price_term_months=sub.price_term_months, currency=contract.currency),
            )
        )
    QuoteLine.objects.bulk_create(lines)
    recurring = [(line, sub) for line, sub in zip(lines, subscriptions, strict=True) if sub.charge_type == Product.ChargeType.RECURRING]
    mrr = sum_money(
        (amount_for_piece(unit_price=line.net_unit_price, quantity=line.quantity,
                          factor=prorate_multiplier(line_term_months=1, default_term_months=sub.price_term_months),
                          currency=contract.currency) for line, sub in recurring),
        contract.currency,
    )
    quote.mrr = mrr
    quote.arr = sum_money(
        (amount_for_piece(unit_price=line.net_unit_price, quantity=line.quantity,
                          factor=prorate_multiplier(line_term_months=12, default_term_months=sub.price_term_months),
                          currency=contract.currency) for line, sub in recurring),
        contract.currency,
    )
    quote.total_contract_value = sum_money((line.line_total for line in lines), contract.currency)
    quote.save(update_fields=["mrr", "arr", "total_contract_value"])
    contract.renewal_quote = quote
    contract.save(update_fields=["renewal_quote"])
    audit_record(obj=contract, action="renewal_quoted", actor=actor, message=str(quote))
    return quote


def renewals_create(*, today: date | None = None, actor=None) -> dict:
    """The daily job: renew every active contract ending within the notice period. Safe to run twice."""
    today = today or clock.today()
    horizon = today + timedelta(days=renewal_notice_days())
    due = Contract.objects.filter(
        status=Contract.Status.ACTIVE, evergreen=False, end_date__isnull=False, end_date__lte=horizon,
        renewed_by__isnull=True, renewal_quote__isnull=True,
    ).values_list("pk", flat=True)
    counts = {"renewed": 0, "quoted": 0, "failed": 0}
    for pk in list(due):
        contract = Contract.objects.get(pk=pk)
        try:
            result = contract_renew(contract=contract, actor=actor, today=today)
        except DomainError as exc:
            log.warning("renewal of contract %s refused: %s", contract.number, exc)
            counts["failed"] += 1
            continue
        counts["renewed" if isinstance(result, Contract) else "quoted"] += 1
    return counts


def contracts_expire(*, today: date | None = None) -> int:
    """Mark contracts whose end has passed (and that were not renewed or cancelled) expired."""
    today = today or clock.today()
    count = 0
    for contract in Contract.objects.filter(status=Contract.Status.ACTIVE, end_date__isnull=False, end_date__lte=today):
        with transaction.atomic():
            updated = Contract.objects.filter(pk=contract.pk, status=Contract.Status.ACTIVE).update(status=Contract.Status.EXPIRED)
            if updated:
                audit_record(obj=contract, action="expired", actor=None, actor_label="system",
                             from_state=Contract.Status.ACTIVE, to_state=Contract.Status.EXPIRED)
                count += updated
    return count
