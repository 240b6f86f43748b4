"""Writes for price book entries and their tiers: validated together, saved together, or not at all."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from djmoney.money import Money

from billing_site.audit import audit_record
from billing_site.errors import ValidationFailed
from billing_site.limits import unit_price_error
from billing_site.money import decimal_places
from catalog.models import PriceBook, PriceBookEntry, PriceTier, Product, RecognitionRule
from catalog.numbers import plain
from catalog.pricing import PriceSpec, Tier, validate_price_spec, validate_tiers
from catalog.pricing.price import FREE_UNIT_MODELS, TIER_MODELS

from ._common import audit_value, check_fields

ENTRY_FIELDS = ("pricing_model", "unit_price", "currency", "package_size", "free_units", "recognition_rule", "active")
TIER_FIELDS = ("lower", "upper", "unit_price", "flat_fee")
# Usage is rated on the period's quantity: a flat price would bill the same whatever was used.
USAGE_MODELS = frozenset({"per_unit", "tiered", "volume", "block", "package"})
PRICED_BY_UNIT_PRICE = frozenset({"flat", "per_unit", "package"})
ZERO = Decimal("0")


def _decimal(value, *, field: str, errors: dict, label: str = ""):
    """Parse a decimal from the API or a form; report junk as a field error instead of a crash."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        value = str(value)
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append((label + _("Enter a number.")) if label else _("Enter a number."))
        return None
    if not result.is_finite():
        errors.setdefault(field, []).append(_("Enter a number."))
        return None
    return plain(result)  # '11', not '11.000000', in messages and audit rows


def _places_error(value: Decimal | None) -> str | None:
    """The entry's columns keep 6 decimal places and 12 digits before the point."""
    if value is None:
        return None
    value = value.normalize()
    places = decimal_places(value)
    whole = max(0, value.adjusted() + 1)
    if places > 6:
        return _("Use at most 6 decimal places.")
    if whole > 12:
        return _("Use at most 12 digits before the decimal point.")
    return None


def _parse_tiers(rows, errors: dict) -> list[Tier]:
    tiers = []
    for number, row in enumerate(rows, start=1):
        unknown = sorted(set(row) - set(TIER_FIELDS))
        if unknown:
            errors.setdefault("tiers", []).append(
                _("Tier %(number)s: unknown field %(field)s.") % {"number": number, "field": ", ".join(unknown)}
            )
            continue
        label = _("Tier %(number)s: ") % {"number": number}
        values = {name: _decimal(row.get(name), field="tiers", errors=errors, label=label) for name in TIER_FIELDS}
        for name in ("lower", "unit_price"):
            if values[name] is None and row.get(name) in (None, ""):
                names = {"lower": _("the lower bound"), "unit_price": _("the unit price")}
                errors.setdefault("tiers", []).append(
                    _("Tier %(number)s: %(what)s is required.") % {"number": number, "what": names[name]}
                )
        for value in values.values():
            problem = _places_error(value)
            if problem:
                errors.setdefault("tiers", []).append(label + problem)
                break
        if values["lower"] is not None and values["lower"] < 0:
            errors.setdefault("tiers", []).append(label + _("the lower bound must not be negative."))
        if values["lower"] is None or values["unit_price"] is None:
            continue
        tiers.append(Tier(values["lower"], values["upper"], values["unit_price"], values["flat_fee"] or ZERO))
    return tiers


def _validate(*, product: Product, book: PriceBook, data: dict, tier_rows, entry: PriceBookEntry | None):
    """Every problem with the entry and its tiers, as field errors; or the values to save."""
    errors: dict[str, list[str]] = {}
    model = data.get("pricing_model", entry.pricing_model if entry else PriceBookEntry.Model.PER_UNIT)
    if model not in PriceBookEntry.Model.values:
        errors["pricing_model"] = [_("“%(model)s” is not a pricing model.") % {"model": model}]
    default_price = entry.unit_price.amount if entry and entry.unit_price is not None else None  # type: ignore[attr-defined]  # a MoneyField holds Money; django-money ships no type stubs
    unit_price = _decimal(data["unit_price"], field="unit_price", errors=errors) if "unit_price" in data else default_price
    package_size = (
        _decimal(data["package_size"], field="package_size", errors=errors) if "package_size" in data
        else (entry.package_size if entry else None)
    )
    free_units = (
        _decimal(data["free_units"], field="free_units", errors=errors) if "free_units" in data
        else (entry.free_units if entry else ZERO)
    )
    free_units = ZERO if free_units is None else free_units
    currency = data.get("currency") or book.currency
    active = data.get("active", entry.active if entry else True)
    recognition_rule = data.get("recognition_rule", entry.recognition_rule if entry else "") or ""
    if recognition_rule and recognition_rule not in RecognitionRule.values:
        errors["recognition_rule"] = [_("“%(rule)s” is not a recognition rule.") % {"rule": recognition_rule}]

    if currency != book.currency:
        errors.setdefault("currency", []).append(
            _("The price is in %(currency)s but the price book “%(book)s” is in %(book_currency)s.")
            % {"currency": currency, "book": book.name, "book_currency": book.currency}
        )
    if product.charge_type == Product.ChargeType.USAGE and model == PriceBookEntry.Model.FLAT:
        errors.setdefault("pricing_model", []).append(
            _("A usage product needs a per-unit, tiered, volume, block or package price.")
        )

    # Fields that do not apply to the model are refused rather than silently kept or dropped.
    if model in PRICED_BY_UNIT_PRICE:
        if unit_price is None and "unit_price" not in errors:
            errors["unit_price"] = [_("A unit price is required.")]
        elif unit_price is not None and unit_price < 0:
            errors["unit_price"] = [_("The unit price must not be negative.")]
    elif unit_price is not None and "unit_price" not in errors:
        errors["unit_price"] = [_("Tiered, volume and block prices are set in the tiers; leave the unit price empty.")]
    if model == PriceBookEntry.Model.PACKAGE:
        if package_size is None and "package_size" not in errors:
            errors["package_size"] = [_("A package size is required.")]
        elif package_size is not None and package_size < 1:
            errors["package_size"] = [_("The package size must be at least 1.")]
    elif package_size is not None and "package_size" not in errors:
        errors["package_size"] = [_("Only package prices have a package size.")]
    if free_units < 0:
        errors["free_units"] = [_("Free units must not be negative.")]
    elif free_units and model not in FREE_UNIT_MODELS:
        errors["free_units"] = [_("Free units apply to per-unit and package prices only; use a tier priced 0.")]
    for field, value in (("unit_price", unit_price), ("package_size", package_size), ("free_units", free_units)):
        problem = _places_error(value) or (unit_price_error(value) if field == "unit_price" and value is not None else None)
        if problem and field not in errors:
            errors[field] = [problem]

    tiers = _parse_tiers(tier_rows or [], errors)
    if model in TIER_MODELS:
        structure = validate_tiers(tiers) if "tiers" not in errors else []
        if structure:
            errors["tiers"] = structure
        if model == PriceBookEntry.Model.BLOCK and any(t.flat_fee for t in tiers):
            errors.setdefault("tiers", []).append(
                _("Block prices use the tier's unit price as the block price; leave flat fees at 0.")
            )
    elif tier_rows:
        errors.setdefault("tiers", []).append(_("Only tiered, volume and block prices have tiers."))

    duplicate = PriceBookEntry.objects.filter(product=product, price_book=book)
    if entry is not None:
        duplicate = duplicate.exclude(pk=entry.pk)
    if duplicate.exists():
        errors.setdefault("price_book", []).append(
            _("%(product)s already has a price in %(book)s.") % {"product": product.name, "book": book.name}
        )
    if errors:
        raise ValidationFailed(fields=errors)
    spec = PriceSpec(model=model, unit_price=unit_price, tiers=tuple(tiers), package_size=package_size, free_units=free_units)
    final = validate_price_spec(spec)
    if final:  # a guard: the checks above should already have said all of it
        raise ValidationFailed(fields={"pricing_model": final})
    return {
        "pricing_model": model, "unit_price": unit_price, "package_size": package_size,
        "free_units": free_units, "recognition_rule": recognition_rule, "active": bool(active),
    }, tiers


def _snapshot(entry: PriceBookEntry) -> dict:
    return {
        "pricing_model": entry.pricing_model,
        "unit_price": audit_value(entry.unit_price.amount) if entry.unit_price is not None else None,  # type: ignore[attr-defined]  # a MoneyField holds Money; django-money ships no type stubs
        "package_size": audit_value(entry.package_size),
        "free_units": audit_value(entry.free_units),
        "active": str(entry.active),
        "tiers": [
            [audit_value(t.lower), audit_value(t.upper), audit_value(t.unit_price), audit_value(t.flat_fee)]
            for t in entry.tiers.order_by("lower")
        ],
    }


@transaction.atomic
def entry_save(
    *, actor, product: Product, price_book: PriceBook, data: dict, tiers: list[dict] | None = None,
    entry: PriceBookEntry | None = None,
) -> PriceBookEntry:
    """Create or replace the price of `product` in `price_book` with its tiers, in one transaction.

    `tiers` is the whole tier table (rows of lower, upper, unit_price, flat_fee); it replaces the
    stored one. The entry and its tiers are validated together: any problem saves nothing.
    """
    check_fields(data, ENTRY_FIELDS)
    before: dict | None = None
    # Lock the product so two editors of the same price cannot interleave their tier tables.
    product = Product.objects.select_for_update().get(pk=product.pk)
    if entry is not None:
        entry = PriceBookEntry.objects.select_for_update().select_related("price_book").get(pk=entry.pk)
        if entry.product_id != product.pk or entry.price_book_id != price_book.pk:
            raise ValidationFailed(fields={"price_book": [_("An entry cannot move to another product or book.")]})
        before = _snapshot(entry)
    values, parsed_tiers = _validate(product=product, book=price_book, data=data, tier_rows=tiers, entry=entry)
    if entry is None:
        entry = PriceBookEntry(product=product, price_book=price_book)
    price = values.pop("unit_price")
    entry.unit_price = Money(price, price_book.currency) if price is not None else None  # type: ignore[assignment]  # django-money: see above
    for field, value in values.items():
        setattr(entry, field, value)
    try:
        entry.full_clean(exclude=["unit_price"], validate_unique=False)
    except ValidationError as exc:
        raise ValidationFailed(fields=exc.message_dict) from exc
    entry.save()
    entry.tiers.all().delete()
    PriceTier.objects.bulk_create(
        PriceTier(entry=entry, lower=t.lower, upper=t.upper, unit_price=t.unit_price, flat_fee=t.flat_fee)
        for t in parsed_tiers
    )
    after = _snapshot(entry)
    if before is None:
        audit_record(obj=entry, action="created", actor=actor, data=after)
        audit_record(obj=product, action="price_added", actor=actor, message=str(price_book))
    elif before != after:
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        audit_record(obj=entry, action="updated", actor=actor, message=", ".join(sorted(changes)), data=changes)
        audit_record(obj=product, action="price_changed", actor=actor, message=str(price_book), data=changes)
    return entry
