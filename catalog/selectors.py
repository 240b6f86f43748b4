"""Catalog reads: launch readiness (can this product be quoted?) and price look-ups."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch
from django.urls import reverse
from django.utils.translation import gettext as _

from catalog.models import LegalEntity, PriceBook, PriceBookEntry, PriceTier, Product
from catalog.preview import pricing_preview  # noqa: F401 - the page and the API share it
from catalog.pricing import validate_price_spec

USAGE_MODELS = frozenset({"per_unit", "tiered", "volume", "block", "package"})


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool
    detail: str = ""


def _entries_by_book(products) -> dict[int, dict[int, PriceBookEntry]]:
    """{product id: {book id: active entry with its tiers}} in two queries."""
    found: dict[int, dict[int, PriceBookEntry]] = {}
    entries = (
        PriceBookEntry.objects.filter(product__in=products, active=True)
        .select_related("price_book")
        .prefetch_related(Prefetch("tiers", queryset=PriceTier.objects.order_by("lower")))
    )
    for entry in entries:
        found.setdefault(entry.product_id, {})[entry.price_book_id] = entry
    return found


def _checks(product: Product, books, entries: dict) -> list[Check]:
    checks = [Check(_("Active"), product.active, "" if product.active else _("The product is inactive."))]
    checks.append(
        Check(
            _("Billing rule"), product.billing_rule_id is not None,
            "" if product.billing_rule_id else _("Choose a billing rule (it sets proration, and the legal entity of books that name none)."),
        )
    )
    checks.append(
        Check(_("Tax rule"), product.tax_rule_id is not None, "" if product.tax_rule_id else _("Choose a tax rule."))
    )
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


def product_readiness(product: Product, *, books=None) -> list[Check]:
    """The launch checklist: each item says what is missing, if anything."""
    books = list(books if books is not None else PriceBook.objects.filter(active=True))
    return _checks(product, books, _entries_by_book([product]).get(product.pk, {}))


def readiness_by_product(products) -> dict[int, list[Check]]:
    """The checklist of many products at once (the catalog list), in a fixed number of queries."""
    products = list(products)
    books = list(PriceBook.objects.filter(active=True))
    entries = _entries_by_book(products)
    return {product.pk: _checks(product, books, entries.get(product.pk, {})) for product in products}


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


def legal_entity_for(*, price_book: PriceBook, product: Product) -> LegalEntity:
    """The company that sells `product` through `price_book`, issues its quotes and invoices and
    whose tax rates apply: the book's legal entity, or, when the book names none, the one of the
    product's billing rule. The only place this choice is made."""
    if price_book.legal_entity_id is not None:
        return price_book.legal_entity
    return product.billing_rule.legal_entity


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


def product_list(*, params, sort: str = "name"):
    """Products matching the list's filters, sorted, each with its readiness (`ready`, `missing`).

    "Ready" is computed, not stored (it depends on every active book), so that filter runs in
    Python over the filtered rows: a catalog holds hundreds of products, not millions.
    """
    from catalog.filters import ProductFilter, sort_products

    qs = Product.objects.select_related("family", "billing_rule", "tax_rule")
    filterset = ProductFilter(params, queryset=qs)
    products = list(sort_products(filterset.qs, sort))
    readiness = readiness_by_product(products)
    for product in products:
        product.checks = readiness[product.pk]
        product.ready = all(c.ok for c in product.checks)
        product.missing = [c for c in product.checks if not c.ok]
    ready = params.get("ready", "")
    if ready in ("yes", "no"):
        products = [p for p in products if p.ready == (ready == "yes")]
    return filterset, products


def product_detail(*, product: Product) -> dict:
    """Everything the product page shows: checklist, entries per book (with tiers), books without a price."""
    books = list(PriceBook.objects.order_by("-active", "currency", "name"))
    entries = list(
        PriceBookEntry.objects.filter(product=product)
        .select_related("price_book__legal_entity")
        .prefetch_related(Prefetch("tiers", queryset=PriceTier.objects.order_by("lower")))
        .order_by("price_book__currency", "price_book__name")
    )
    for entry in entries:
        # Who will quote and invoice the product in this book (unknown while it has no billing rule).
        has_entity = entry.price_book.legal_entity_id is not None or product.billing_rule_id is not None
        entry.sold_by = legal_entity_for(price_book=entry.price_book, product=product) if has_entity else None
    priced = {e.price_book_id for e in entries}
    checks = _checks(product, [b for b in books if b.active], {e.price_book_id: e for e in entries if e.active})
    return {
        "checks": checks,
        "ready": all(c.ok for c in checks),
        "entries": entries,
        "unpriced_books": [b for b in books if b.pk not in priced],
    }


def dashboard_cards(*, user, roles) -> list[dict]:
    """Finance sees how many active products cannot be quoted yet."""
    from billing_site.roles import FINANCE_ADMIN

    if not (set(roles) & set(FINANCE_ADMIN)):
        return []
    products = list(Product.objects.filter(active=True))
    readiness = readiness_by_product(products)
    not_ready = sum(1 for p in products if not all(c.ok for c in readiness[p.pk]))
    url = reverse("catalog:index")
    return [
        {
            "title": _("Products not ready to quote"), "value": not_ready, "url": f"{url}?active=true&ready=no",
            "tone": "warn" if not_ready else "ok",
            "hint": _("%(count)s active products in the catalog") % {"count": len(products)},
        }
    ]
