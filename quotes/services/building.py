"""Building a quote: the header, the lines, and the totals they add up to (only on drafts)."""

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing_site import clock
from billing_site.audit import audit_note, audit_record, fields_param, number_param
from billing_site.errors import Forbidden, Immutable, ValidationFailed
from billing_site.limits import amount_error, quantity_error, unit_price_error
from billing_site.money import decimal_places, round_money, to_decimal
from billing_site.numbering import number_assign
from billing_site.roles import is_finance
from catalog.models import PriceBook, Product
from catalog.pricing import DEFAULT_TERM_MONTHS, PricingError, tax_for_line
from catalog.selectors import entry_for, legal_entity_for, product_missing, tax_rate_for
from customers.models import Account
from quotes import pricing
from quotes.models import Quote, QuoteLine

DEFAULT_VALIDITY_DAYS = 30
MAX_TERM_MONTHS = 120
HEADER_FIELDS = (
    "price_book", "start_date", "term_months", "expiration_date", "payment_terms_days", "quote_discount_percent",
    "notes",
)
LINE_FIELDS = ("quantity", "discount_percent", "discount_amount", "start_date", "end_date")


def _locked(quote: Quote) -> Quote:
    return Quote.objects.select_for_update().select_related("account", "price_book").get(pk=quote.pk)


def quote_can_edit(*, quote: Quote, user) -> bool:
    """Finance and Admin edit and submit every quote; a sales rep the quotes they created or whose account they own."""
    if is_finance(user):
        return True
    return user.pk is not None and user.pk in (quote.created_by_id, quote.account.sales_owner_id)


def _require_owner(quote: Quote, actor) -> None:
    if actor is not None and not quote_can_edit(quote=quote, user=actor):
        raise Forbidden(_("Only the quote's creator, the account's sales owner, finance or an admin can change this quote."))


def _require_draft(quote: Quote) -> None:
    if quote.status != Quote.Status.DRAFT:
        raise Immutable(
            _("Quote %(quote)s is %(status)s: only a draft can be edited. Send it back to draft (it will need approval again) or clone it.")
            % {"quote": quote, "status": quote.get_status_display().lower()}
        )


def _decimal(value, field: str, errors: dict, *, places: int = 6) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = to_decimal(value if isinstance(value, Decimal | int) else str(value).strip())
    except (InvalidOperation, TypeError, ValueError):
        errors[field] = [_("Enter a number.")]
        return None
    if not number.is_finite():
        errors[field] = [_("Enter a number.")]
        return None
    if decimal_places(number) > places:
        errors[field] = [_("At most %(places)s decimal places.") % {"places": places}]
        return None
    return number


def _check_header(*, account: Account, price_book: PriceBook, data: dict, today: dt.date, creating: bool) -> dict:
    errors = {}
    if account.status == Account.Status.CLOSED:
        errors["account"] = [_("This account is closed: it cannot be quoted.")]
    if not price_book.active:
        errors["price_book"] = [_("The price book %(book)s is inactive.") % {"book": price_book}]
    elif price_book.currency != account.currency:
        errors["price_book"] = [
            _("The price book is in %(book)s but the account is billed in %(account)s.")
            % {"book": price_book.currency, "account": account.currency}
        ]
    term = data.get("term_months")
    if term is None or not 1 <= term <= MAX_TERM_MONTHS:
        errors["term_months"] = [_("The term must be between 1 and %(max)s months.") % {"max": MAX_TERM_MONTHS}]
    if data.get("start_date") is None:
        errors["start_date"] = [_("Enter a start date.")]
    expiration = data.get("expiration_date")
    if expiration is None:
        errors["expiration_date"] = [_("Enter an expiration date.")]
    elif creating and expiration < today:
        errors["expiration_date"] = [_("The expiration date cannot be in the past.")]
    terms = data.get("payment_terms_days")
    if terms is None or not 0 <= terms <= 365:
        errors["payment_terms_days"] = [_("Payment terms are between 0 and 365 days.")]
    percent = data.get("quote_discount_percent")
    if percent is None or not Decimal(0) <= percent <= Decimal(100):
        errors["quote_discount_percent"] = [_("A discount must be between 0 and 100 %.")]
    elif decimal_places(percent) > 2:
        errors["quote_discount_percent"] = [_("At most %(places)s decimal places.") % {"places": 2}]
    return errors


@transaction.atomic
def quote_create(
    *,
    actor,
    account: Account,
    price_book: PriceBook | None = None,
    start_date: dt.date | None = None,
    term_months: int = 12,
    expiration_date: dt.date | None = None,
    payment_terms_days: int | None = None,
    quote_discount_percent: Decimal | None = None,
    notes: str = "",
    today: dt.date | None = None,
) -> Quote:
    """Open a draft quote for an account (payment terms from the account, its standard price book)."""
    today = today or clock.today()
    if price_book is None:
        price_book = PriceBook.objects.filter(currency=account.currency, is_standard=True, active=True).first()
        if price_book is None:
            raise ValidationFailed(
                fields={"price_book": [_("Choose a price book: there is no standard book in %(currency)s.") % {"currency": account.currency}]}
            )
    data = {
        "start_date": start_date or today,
        "term_months": term_months,
        "expiration_date": expiration_date or today + dt.timedelta(days=DEFAULT_VALIDITY_DAYS),
        "payment_terms_days": account.payment_terms_days if payment_terms_days is None else payment_terms_days,
        "quote_discount_percent": Decimal("0") if quote_discount_percent is None else to_decimal(quote_discount_percent),
    }
    errors = _check_header(account=account, price_book=price_book, data=data, today=today, creating=True)
    if errors:
        raise ValidationFailed(fields=errors)
    quote = Quote.objects.create(
        number=uuid.uuid4().hex[:20], account=account, price_book=price_book, currency=price_book.currency,
        notes=notes or "", created_by=actor if getattr(actor, "is_authenticated", False) else None, **data,
    )
    # The number derives from the primary key, so it is unique and never reused; versions share it.
    number_assign(quote)
    audit_record(obj=quote, action="created", actor=actor, to_state=quote.status)
    return quote


@transaction.atomic
def quote_update(*, quote: Quote, actor, data: dict, today: dt.date | None = None) -> Quote:
    """Edit a draft's header; lines that followed the quote's dates follow the new ones, and every line is re-priced."""
    today = today or clock.today()
    unknown = set(data) - set(HEADER_FIELDS)
    if unknown:
        raise ValidationFailed(fields={f: [_("Unknown field.")] for f in sorted(unknown)})
    quote = _locked(quote)
    _require_owner(quote, actor)
    _require_draft(quote)
    old_start, old_end = quote.start_date, quote.end_date
    before = {f: getattr(quote, f) for f in data}
    for name, value in data.items():
        setattr(quote, name, value)
    changed = sorted(f for f in data if getattr(quote, f) != before[f])
    if not changed:
        return quote
    if "price_book" in changed and quote.lines.exists():
        raise ValidationFailed(fields={"price_book": [_("Remove the lines before changing the price book.")]})
    header = {f: getattr(quote, f) for f in HEADER_FIELDS if f != "notes"}
    errors = _check_header(account=quote.account, price_book=quote.price_book, data=header, today=today, creating=False)
    if "expiration_date" in changed and quote.expiration_date < today:
        errors["expiration_date"] = [_("The expiration date cannot be in the past.")]
    if errors:
        raise ValidationFailed(fields=errors)
    quote.currency = quote.price_book.currency
    quote.save()
    if {"start_date", "term_months"} & set(changed):
        quote.lines.filter(start_date=old_start, end_date=old_end).update(start_date=quote.start_date, end_date=quote.end_date)
    _reprice_all(quote)
    audit_record(
        obj=quote, action="updated", actor=actor, message=", ".join(changed),
        data={f: [str(before[f]), str(getattr(quote, f))] for f in changed},
    )
    return quote


@transaction.atomic
def quote_delete(*, quote: Quote, actor) -> None:
    """Delete a draft that was never submitted (a quote that went further is kept, and expires)."""
    quote = _locked(quote)
    _require_owner(quote, actor)
    _require_draft(quote)
    if quote.submitted_at is not None or quote.clones.exists():
        raise Immutable(_("This quote was submitted or cloned: it is kept for the record. Let it expire instead."))
    audit_record(obj=quote, action="deleted", actor=actor, from_state=quote.status)
    quote.delete()


# Lines ----------------------------------------------------------------------------------------


def _parse_line(data: dict, errors: dict) -> dict:
    parsed = {}
    for name in ("quantity", "discount_percent", "discount_amount"):
        if name in data:
            parsed[name] = _decimal(data[name], name, errors)
    for name in ("start_date", "end_date"):
        if name in data:
            parsed[name] = data[name] or None
    return parsed


def _check_line_values(*, quantity, discount_percent, discount_amount, start, end, charge_type, errors: dict) -> None:
    if "quantity" not in errors:
        if quantity is None:
            errors["quantity"] = [_("Enter a quantity.")]
        elif quantity <= 0:
            errors["quantity"] = [_("The quantity must be greater than 0.")]
        elif error := quantity_error(quantity):
            errors["quantity"] = [error]
    if discount_percent is not None and not Decimal(0) <= discount_percent <= Decimal(100):
        errors["discount_percent"] = [_("A discount must be between 0 and 100 %.")]
    if discount_amount is not None and discount_amount < 0:
        errors["discount_amount"] = [_("A discount must not be negative.")]
    elif discount_amount is not None and (error := unit_price_error(discount_amount)):
        errors["discount_amount"] = [error]
    if discount_percent is not None and discount_amount is not None:
        errors["discount_amount"] = [_("Give a discount percent or an amount per unit, not both.")]
    if charge_type == pricing.USAGE and (discount_percent or discount_amount):
        errors["discount_percent"] = [_("Usage is rated on what is used: it cannot be discounted on a quote.")]
    if start is not None and end is not None and not start < end:
        errors["end_date"] = [_("The line must end after it starts.")]


def _snapshot(*, product: Product, entry, legal_entity) -> dict:
    spec = entry.price_spec()
    rule = product.billing_rule
    assert rule is not None, "product_missing() refuses a product without a billing rule"
    return {
        **pricing.spec_to_snapshot(spec),
        "entry_id": entry.pk,
        "price_book_id": entry.price_book_id,
        "currency": entry.price_book.currency,
        "charge_type": product.charge_type,
        "billing_type": product.billing_type,
        "billing_frequency": product.billing_frequency,
        "default_term_months": product.default_term_months,
        "unit_of_measure": product.unit_of_measure,
        "billing_rule_id": rule.pk,
        "legal_entity_id": legal_entity.pk,
        "period_boundary": rule.period_boundary,
        "day_count": rule.day_count,
        "basis": "unit" if pricing.quoted_per_unit(spec) else "quantity",
    }


def _price(line: QuoteLine, quote: Quote) -> None:
    """Fill the line's prices, multiplier, total and tax from its snapshot (raises ValidationFailed)."""
    snap = line.pricing_snapshot
    try:
        result = pricing.price_line(
            # A renewal line carries its subscription's snapshot, which has the price but not the
            # product's charge type and term: those come from the product.
            charge_type=line.charge_type, spec=pricing.spec_from_snapshot(snap), quantity=line.quantity,
            discount_percent=line.discount_percent, discount_amount=line.discount_amount,
            quote_percent=quote.quote_discount_percent or None, start=line.start_date, end=line.end_date,
            default_term_months=snap.get("default_term_months") or line.product.default_term_months, currency=quote.currency,
        )
    except pricing.NegativeNetPrice as exc:
        field = "discount_amount" if line.discount_amount is not None else "discount_percent"
        raise ValidationFailed(fields={field: [str(exc.message)]}) from exc
    except PricingError as exc:
        raise ValidationFailed(fields={"quantity": [str(exc.message)]}) from exc
    if error := amount_error(result.line_total):
        raise ValidationFailed(fields={"quantity": [error]})
    line.list_unit_price = result.list_unit_price
    line.net_unit_price = result.net_unit_price
    line.price_term_months = snap.get("default_term_months") or DEFAULT_TERM_MONTHS
    line.prorate_numerator = result.multiplier.numerator
    line.prorate_denominator = result.multiplier.denominator
    line.line_total = result.line_total
    line.effective_discount_percent = pricing.to_percent_field(result.effective_discount)
    product = line.product
    rate = tax_rate_for(
        tax_rule=product.tax_rule, legal_entity=snap.get("legal_entity_id"), country=quote.account.country,
        tax_exempt=quote.account.tax_exempt,
    )
    line.tax_rate_percent = rate.rate_percent
    line.tax_label = rate.label
    line.tax_amount = tax_for_line(net_amount=round_money(result.line_total, quote.currency), rate_percent=rate.rate_percent, currency=quote.currency)


def _recompute_totals(quote: Quote) -> None:
    lines = list(quote.lines.all())
    totals = pricing.quote_totals(
        lines=[
            pricing.TotalInput(
                charge_type=line.pricing_snapshot.get("charge_type"), line_total=round_money(line.line_total, quote.currency),
                term_months=pricing.line_term_months(start=line.start_date, end=line.end_date),
                tax_amount=round_money(line.tax_amount, quote.currency),
            )
            for line in lines
        ],
        currency=quote.currency,
    )
    quote.one_time_total = totals.one_time_total
    quote.mrr = totals.mrr
    quote.arr = totals.arr
    quote.total_contract_value = totals.total_contract_value
    quote.tax_estimate = totals.tax_estimate
    quote.save(update_fields=["one_time_total", "mrr", "arr", "total_contract_value", "tax_estimate", "updated_at"])


def _reprice_all(quote: Quote) -> None:
    for line in quote.lines.select_related("product__tax_rule"):
        _price(line, quote)
        line.save()
    _recompute_totals(quote)


@transaction.atomic
def quote_line_add(
    *,
    quote: Quote,
    actor,
    product: Product,
    quantity,
    discount_percent=None,
    discount_amount=None,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
) -> QuoteLine:
    """Add a ready product at the book's price; the quote's totals follow."""
    quote = _locked(quote)
    _require_owner(quote, actor)
    _require_draft(quote)
    errors: dict = {}
    values = _parse_line(
        {"quantity": quantity, "discount_percent": discount_percent, "discount_amount": discount_amount}, errors
    )
    product = Product.objects.select_related("billing_rule", "tax_rule", "family").get(pk=product.pk)
    missing = product_missing(product)
    entry = entry_for(product=product, price_book=quote.price_book)
    if entry is None:
        errors["product"] = [
            _("%(product)s has no price in %(currency)s in the price book %(book)s.")
            % {"product": product.name, "currency": quote.currency, "book": quote.price_book.name}
        ]
    elif missing:
        errors["product"] = [_("%(product)s is not ready to be quoted.") % {"product": product.name}, *missing]
    start = start_date or quote.start_date
    end = end_date or (quote.end_date if start_date is None else None)
    if end is None:
        errors["end_date"] = [_("Enter an end date.")]
    _check_line_values(
        quantity=values.get("quantity"), discount_percent=values.get("discount_percent"),
        discount_amount=values.get("discount_amount"), start=start, end=end, charge_type=product.charge_type, errors=errors,
    )
    entity = None
    if "product" not in errors:
        # The book's entity sells everything in it; a book without one leaves it to each billing rule.
        entity = legal_entity_for(price_book=quote.price_book, product=product)
        if quote.legal_entity_id and quote.legal_entity_id != entity.pk:
            errors["product"] = [
                _("%(product)s is sold by %(entity)s; this quote's products are sold by %(quote_entity)s. Quote it separately.")
                % {"product": product.name, "entity": entity, "quote_entity": quote.legal_entity}
            ]
    if errors:
        raise ValidationFailed(fields=errors)
    assert end is not None  # refused above
    if not quote.legal_entity_id:
        quote.legal_entity = entity
        quote.save(update_fields=["legal_entity", "updated_at"])
    position = (quote.lines.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    line = QuoteLine(
        quote=quote, position=position, product=product, quantity=values["quantity"],
        discount_percent=values.get("discount_percent"), discount_amount=values.get("discount_amount"),
        start_date=start, end_date=end, pricing_snapshot=_snapshot(product=product, entry=entry, legal_entity=entity),
        list_unit_price=Decimal(0), net_unit_price=Decimal(0),
    )
    _price(line, quote)
    line.save()
    _recompute_totals(quote)
    audit_record(
        obj=quote, action="line_added", actor=actor,
        note=audit_note(gettext_noop("%(sku)s × %(quantity)s"), sku=product.sku, quantity=number_param(line.quantity)),
        data={"line": line.pk, "line_total": str(line.line_total)},
    )
    return line


@transaction.atomic
def quote_line_update(*, line: QuoteLine, actor, data: dict) -> QuoteLine:
    """Change a draft line's quantity, discount or dates; its price is recomputed from its snapshot."""
    unknown = set(data) - set(LINE_FIELDS)
    if unknown:
        raise ValidationFailed(fields={f: [_("Unknown field.")] for f in sorted(unknown)})
    quote = _locked(line.quote)
    _require_owner(quote, actor)
    _require_draft(quote)
    line = QuoteLine.objects.select_related("product__tax_rule").get(pk=line.pk, quote=quote)
    errors: dict = {}
    values = _parse_line(data, errors)
    before = {f: getattr(line, f) for f in values}
    for name, value in values.items():
        if name in ("start_date", "end_date") and value is None:
            errors[name] = [_("Enter a date.")]
            continue
        setattr(line, name, value)
    _check_line_values(
        quantity=line.quantity, discount_percent=line.discount_percent, discount_amount=line.discount_amount,
        start=line.start_date, end=line.end_date, charge_type=line.charge_type, errors=errors,
    )
    if errors:
        raise ValidationFailed(fields=errors)
    changed = sorted(f for f in values if getattr(line, f) != before[f])
    if not changed:
        return line
    _price(line, quote)
    line.save()
    _recompute_totals(quote)
    audit_record(
        obj=quote, action="line_changed", actor=actor,
        note=audit_note(gettext_noop("%(sku)s: %(fields)s"), sku=line.product.sku, fields=fields_param(QuoteLine, changed)),
        data={"line": line.pk, **{f: [_s(before[f]), _s(getattr(line, f))] for f in changed}},
    )
    return line


def _s(value):
    return None if value is None else str(value)


@transaction.atomic
def quote_line_remove(*, line: QuoteLine, actor) -> None:
    """Remove a line from a draft."""
    quote = _locked(line.quote)
    _require_owner(quote, actor)
    _require_draft(quote)
    line = QuoteLine.objects.select_related("product").get(pk=line.pk, quote=quote)
    label = f"{line.product.sku} × {line.quantity.normalize()}"
    line.delete()
    if not quote.lines.exists() and quote.legal_entity_id:
        quote.legal_entity = None
        quote.save(update_fields=["legal_entity", "updated_at"])
    _recompute_totals(quote)
    audit_record(obj=quote, action="line_removed", actor=actor, message=label)

