"""Writes for products and price books."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from billing_site.errors import ValidationFailed
from catalog.models import PriceBook, PriceBookEntry, Product

from ._common import apply_changes, audit_created, audit_updated, check_fields, full_clean
from .entries import USAGE_MODELS

PRODUCT_FIELDS = (
    "sku", "name", "description", "family", "active", "charge_type", "billing_type", "billing_frequency",
    "default_term_months", "unit_of_measure", "recognition_rule", "billing_rule", "tax_rule", "needs_delivery",
)
PRICE_BOOK_FIELDS = ("name", "currency", "active", "is_standard", "legal_entity")


def _product_errors(product: Product) -> dict:
    """Rules across fields that the model's own validation does not know."""
    errors = {}
    if product.charge_type == Product.ChargeType.USAGE and product.billing_type != Product.BillingType.ARREARS:
        errors["billing_type"] = [_("Usage is always billed in arrears.")]
    if (
        product.charge_type == Product.ChargeType.RECURRING
        and product.billing_frequency
        and (product.default_term_months or 0) > 0
        and product.term_months % product.billing_frequency
    ):
        # The price is for the term and each period bills term ÷ periods of it: a fraction of a
        # period per term would make no schedule.
        errors["default_term_months"] = [
            _("The default term (%(term)s months) must be a whole number of billing periods of %(months)s months.")
            % {"term": product.term_months, "months": product.billing_frequency}
        ]
    if product.pk and product.charge_type == Product.ChargeType.USAGE:
        flat = PriceBookEntry.objects.filter(product=product).exclude(pricing_model__in=USAGE_MODELS).select_related("price_book")
        books = ", ".join(e.price_book.name for e in flat)
        if books:
            errors["charge_type"] = [
                _("A usage product cannot have a flat price; change its price in: %(books)s.") % {"books": books}
            ]
    return errors


def _normalize_product(data: dict) -> dict:
    data = dict(data)
    for name in ("sku", "name", "unit_of_measure"):
        if isinstance(data.get(name), str):
            data[name] = data[name].strip()
    return data


@transaction.atomic
def product_create(*, actor, data: dict) -> Product:
    """Create a product; it can be quoted once it is ready (see `selectors.product_readiness`)."""
    check_fields(data, PRODUCT_FIELDS)
    data = _normalize_product(data)
    if data.get("charge_type") == Product.ChargeType.USAGE and "billing_type" not in data:
        data["billing_type"] = Product.BillingType.ARREARS
    product = Product(**data)
    # The usage-in-arrears constraint is reported on its field by `_product_errors`.
    full_clean(product, extra=_product_errors(product), validate_constraints=False)
    product.save()
    audit_created(product, actor=actor)
    return product


@transaction.atomic
def product_update(*, product: Product, actor, data: dict) -> Product:
    """Edit a product. Quotes and contracts copy prices and terms, so they keep what they were sold with."""
    check_fields(data, PRODUCT_FIELDS)
    product = Product.objects.select_for_update().get(pk=product.pk)
    changes = apply_changes(product, _normalize_product(data))
    if not changes:
        return product
    # The usage-in-arrears constraint is reported on its field by `_product_errors`.
    full_clean(product, extra=_product_errors(product), validate_constraints=False)
    product.save()
    audit_updated(product, actor=actor, changes=changes)
    return product


def _book_errors(book: PriceBook, *, currency_before: str | None, entity_before: int | None = None) -> dict:
    errors = {}
    # The entity may sell in any currency: no rule ties the book's currency to the entity's.
    entity = book.legal_entity if book.legal_entity_id is not None and book.legal_entity_id != entity_before else None
    if entity is not None and not entity.active:
        errors["legal_entity"] = [_("%(entity)s is inactive: it cannot sell through a price book.") % {"entity": entity}]
    if book.pk and currency_before and currency_before != book.currency and book.entries.exists():
        errors["currency"] = [_("This book already has prices in %(currency)s; its currency cannot change.") % {"currency": currency_before}]
    if book.is_standard and not book.active:
        errors["active"] = [_("The standard book of a currency must be active.")]
    return errors


def _save_book(book: PriceBook) -> None:
    """Save; two books marked standard for one currency at the same instant meet the database's
    one-standard-per-currency constraint, and the loser gets a field error instead of a crash."""
    try:
        with transaction.atomic():
            book.save()
    except IntegrityError as exc:
        raise ValidationFailed(
            fields={"is_standard": [_("Another book became the standard one for %(currency)s meanwhile; try again.") % {"currency": book.currency}]}
        ) from exc


def _take_standard(book: PriceBook, *, actor) -> None:
    """One standard book per currency: marking this one moves the flag from the previous one."""
    previous = PriceBook.objects.select_for_update().filter(currency=book.currency, is_standard=True).exclude(pk=book.pk)
    for other in previous:
        other.is_standard = False
        other.save(update_fields=["is_standard"])
        audit_updated(other, actor=actor, changes={"is_standard": ["True", "False"]})


@transaction.atomic
def price_book_create(*, actor, data: dict) -> PriceBook:
    """Create a price book; a standard book becomes the default of its currency."""
    check_fields(data, PRICE_BOOK_FIELDS)
    data = dict(data)
    if isinstance(data.get("name"), str):
        data["name"] = data["name"].strip()
    book = PriceBook(**data)
    if book.is_standard:
        # Moved first so the one-standard-per-currency constraint validates; a refusal below rolls it back.
        _take_standard(book, actor=actor)
    full_clean(book, extra=_book_errors(book, currency_before=None))
    _save_book(book)
    audit_created(book, actor=actor)
    return book


@transaction.atomic
def price_book_update(*, price_book: PriceBook, actor, data: dict) -> PriceBook:
    """Edit a price book; its currency is fixed once it holds prices. A new legal entity applies to
    quotes and orders from now on: subscriptions keep the entity they were created with."""
    check_fields(data, PRICE_BOOK_FIELDS)
    book = PriceBook.objects.select_for_update().get(pk=price_book.pk)
    currency_before, entity_before = book.currency, book.legal_entity_id
    data = dict(data)
    if isinstance(data.get("name"), str):
        data["name"] = data["name"].strip()
    changes = apply_changes(book, data)
    if not changes:
        return book
    if book.is_standard and ("is_standard" in changes or "currency" in changes):
        _take_standard(book, actor=actor)
    full_clean(book, extra=_book_errors(book, currency_before=currency_before, entity_before=entity_before))
    _save_book(book)
    audit_updated(book, actor=actor, changes=changes)
    return book


