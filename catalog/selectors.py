"""Catalog reads: launch readiness (can this product be quoted?) and price look-ups."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from catalog.models import PriceBook, PriceBookEntry, PriceTier, Product
from catalog.pricing import validate_price_spec

USAGE_MODELS = frozenset({"per_unit", "tiered", "volume", "block", "package"})


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool
    detail: str = ""


def product_readiness(product: Product, *, books=None) -> list[Check]:
    """The launch checklist: each item says what is missing, if anything."""
    checks = [Check(_("Active"), product.active, "" if product.active else _("The product is inactive."))]
    checks.append(
        Check(
            _("Billing rule"), product.billing_rule_id is not None,
            "" if product.billing_rule_id else _("Choose a billing rule (it names the legal entity and proration)."),
        )
    )
    checks.append(
        Check(_("Tax rule"), product.tax_rule_id is not None, "" if product.tax_rule_id else _("Choose a tax rule."))
    )
    books = list(books if books is not None else PriceBook.objects.filter(active=True))
    entries = {
        e.price_book_id: e
        for e in PriceBookEntry.objects.filter(product=product, active=True)
        .select_related("price_book")
        .prefetch_related(Prefetch("tiers", queryset=PriceTier.objects.order_by("lower")))
    }
    for book in books:
        entry = entries.get(book.pk)
        label = _("Priced in %(book)s") % {"book": book}
        if entry is None:
            checks.append(Check(label, False, _("No active price in this book.")))
            continue
        problems = list(validate_price_spec(entry.price_spec()))
        if entry.unit_price is not None and str(entry.unit_price.currency) != book.currency:
            problems.append(_("The price is in %(cur)s, the book in %(book)s.") % {"cur": entry.unit_price.currency, "book": book.currency})
        if product.charge_type == Product.ChargeType.USAGE and entry.pricing_model not in USAGE_MODELS:
            problems.append(_("A usage product needs a per-unit, tiered, volume, block or package price."))
        checks.append(Check(label, not problems, " ".join(str(p) for p in problems)))
    return checks


def product_is_ready(product: Product) -> bool:
    return all(check.ok for check in product_readiness(product))


def product_missing(product: Product) -> list[str]:
    """What keeps the product from being quoted, one message per missing item."""
    return [f"{c.label}: {c.detail}" for c in product_readiness(product) if not c.ok]


def entry_for(*, product: Product, price_book: PriceBook) -> PriceBookEntry | None:
    return (
        PriceBookEntry.objects.filter(product=product, price_book=price_book, active=True)
        .select_related("product", "price_book")
        .prefetch_related(Prefetch("tiers", queryset=PriceTier.objects.order_by("lower")))
        .first()
    )


@dataclass(frozen=True)
class TaxRateResult:
    rate_percent: Decimal
    label: str


def tax_rate_for(*, tax_rule, legal_entity, country: str, tax_exempt: bool) -> TaxRateResult:
    """The rate a line pays: 0 for exempt accounts and non-taxable rules; otherwise the most
    specific rate of the rule (legal entity + country, then country, then legal entity, then any)."""
    zero = TaxRateResult(Decimal("0"), "")
    if tax_exempt or tax_rule is None or not tax_rule.taxable:
        return zero
    rates = list(tax_rule.rates.all())
    entity_id = getattr(legal_entity, "pk", legal_entity)

    def score(rate):
        if rate.legal_entity_id not in (None, entity_id) or rate.country not in ("", country):
            return -1
        return (2 if rate.country else 0) + (1 if rate.legal_entity_id else 0)

    best = max(rates, key=score, default=None)
    if best is None or score(best) < 0:
        return zero
    return TaxRateResult(best.rate_percent, best.name)
