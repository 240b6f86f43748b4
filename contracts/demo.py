"""Demo contracts: a year of business on the demo accounts, made through the contracts services.

About thirty orders on EUR and USD accounts, started over the last twelve months and activated on
their start day: monthly, quarterly and annual products, billed in advance or in arrears, usage,
hardware and one-time set-up fees, 12/24/36-month terms, auto-renewing and evergreen contracts.
One order stays a draft for finance to activate (the quotes demo's accepted quote leaves another).

The amendments (10 seats removed in the middle of a billed period, a product added, a whole
contract cancelled, +10 seats twenty days ago) change periods that invoicing has already billed, so they
are not applied here: `amendment_events()` hands them to the invoicing demo, which replays the
year day by day and applies each one on its own date, between the monthly invoice runs.

Dates are relative to today's business date; amounts come from the demo catalog's prices.
Idempotent: every demo order carries a marker in its notes; running again creates nothing twice.
A database that already has contracts without the markers (an older demo) is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from billing_site import clock
from catalog.models import PriceBook, Product
from catalog.pricing import add_months
from contracts import services
from contracts.models import AmendmentType, Contract, Order, OrderProduct, Subscription
from contracts.services import AmendmentRequest
from customers.models import Account

MARK = "demo:history:"

# Contracts of the history. `ago` is (months before this month, day of that month) of the start.
# (key, account, ago, term months or None for evergreen, [(sku, quantity, discount %)], order options)
CONTRACTS = [
    # EUR
    ("martin-growth", "Boulangeries Martin", (11, 1), 24, [("PLAN-GROWTH", 45, 10), ("SVC-ONBOARD", 1, None)], {}),
    ("dufresne-enterprise", "Atelier Dufresne", (10, 1), 24, [("PLAN-ENTERPRISE", 60, None), ("ADDON-SSO", 1, None)], {}),
    ("lefevre-support", "Transports Lefèvre", (10, 1), 12,
     [("PLAN-STARTER", 1, None), ("SVC-SUPPORT", 1, None)],
     {"auto_renew": True, "renewal_pricing": "uplift", "uplift_percent": Decimal("3"), "renewal_term_months": 12}),
    ("saint-roch-kiosks", "Clinique Saint-Roch", (8, 15), 36,
     [("HW-KIOSK", 3, None), ("HW-LEASE", 3, None), ("SVC-TRAINING", 2, None)], {}),
    ("moreau-starter", "Cabinet Moreau Avocats", (12, 1), 12, [("PLAN-STARTER", 1, None), ("ADDON-SSO", 1, None)],
     {"auto_renew": True, "renewal_pricing": "same"}),
    ("girard-growth", "Mécanique Girard", (7, 1), 12, [("PLAN-GROWTH", 20, None), ("USAGE-API", 1, None)], {}),
    ("papillon-growth", "Librairie Papillon", (10, 5), 24, [("PLAN-GROWTH", 15, None), ("SVC-ONBOARD", 1, None)], {}),
    ("hotel-arts-terminals", "Hôtel des Arts", (6, 15), 36,
     [("HW-TERMINAL", 4, None), ("HW-LEASE", 4, None), ("PLAN-GROWTH", 10, None)], {}),
    ("rousseau-storage", "Fromagerie Rousseau", (5, 1), None, [("PLAN-GROWTH", 8, None), ("ADDON-STORAGE", 250, None)], {}),
    ("bernard-enterprise", "Groupe Bernard Immobilier", (3, 1), 12,
     [("PLAN-ENTERPRISE", 120, 5), ("SEAT-ANALYTICS", 20, None)], {}),
    ("ess-compute", "Énergies Solaires du Sud", (9, 1), 24, [("PLAN-GROWTH", 80, 15), ("USAGE-COMPUTE", 1, None)], {}),
    ("lumiere-starter", "Agence Lumière", (9, 1), 12, [("PLAN-STARTER", 1, None), ("ADDON-SSO", 1, None)], {}),
    ("dubois-growth", "Pharmacie Centrale Dubois", (4, 15), 12, [("PLAN-GROWTH", 18, None)], {}),
    ("fontaine-sms", "Chocolaterie Fontaine", (6, 1), 24, [("PLAN-STARTER", 1, None), ("USAGE-SMS", 1, None)], {}),
    ("mercier-growth", "Logistique Mercier", (8, 1), 24, [("PLAN-GROWTH", 55, 10), ("SVC-ONBOARD", 1, None)], {}),
    ("garnier-starter", "Studio Garnier Design", (11, 1), 12, [("PLAN-STARTER", 1, None)], {}),
    ("lambert-training", "Éditions Lambert", (2, 15), 12, [("PLAN-GROWTH", 14, None), ("SVC-TRAINING", 3, None)], {}),
    # USD
    ("northwind-growth", "Northwind Traders", (12, 1), 24, [("PLAN-GROWTH", 75, 18), ("SVC-ONBOARD", 1, None)], {}),
    ("blue-ridge-analytics", "Blue Ridge Analytics", (10, 1), 24, [("PLAN-STARTER", 1, None), ("SEAT-ANALYTICS", 30, None)], {}),
    ("harbor-terminals", "Harbor Freight Logistics", (7, 1), 36, [("HW-TERMINAL", 10, None), ("HW-LEASE", 10, None), ("PLAN-GROWTH", 20, None)], {}),
    ("cedar-pine-growth", "Cedar & Pine Dental", (6, 20), 12, [("PLAN-GROWTH", 12, None)], {}),
    ("lone-star-growth", "Lone Star Fabrication", (9, 1), 12, [("PLAN-GROWTH", 25, None), ("USAGE-API", 1, None)], {}),
    ("great-lakes-sms", "Great Lakes Brewing Supply", (8, 10), 24, [("PLAN-GROWTH", 10, None), ("USAGE-SMS", 1, None)], {}),
    ("summit-growth", "Summit Outdoor Gear", (11, 1), 24, [("PLAN-GROWTH", 35, None)], {}),
    ("redwood-enterprise", "Redwood Legal Partners", (5, 1), 12, [("PLAN-ENTERPRISE", 25, None)], {}),
    ("empire-growth", "Empire Property Group", (10, 1), 24, [("PLAN-GROWTH", 90, 12), ("SVC-SUPPORT", 1, None)], {}),
    ("magnolia-kiosks", "Magnolia Hospitality", (9, 1), 36,
     [("HW-KIOSK", 2, None), ("HW-LEASE", 2, None), ("PLAN-GROWTH", 30, None)], {}),
    ("evergreen-growth", "Evergreen School District Foundation", (4, 1), None, [("PLAN-GROWTH", 25, 20)], {}),
    ("silverline-compute", "Silverline Software", (2, 1), 12, [("PLAN-GROWTH", 40, None), ("USAGE-COMPUTE", 1, None)], {}),
]

# Orders still to activate: (key, account, days from today to the start, term, products).
DRAFTS = [
    ("chevalier-draft", "Laboratoires Chevalier", 7, 12, [("PLAN-GROWTH", 50, 10), ("SVC-ONBOARD", 1, None)]),
]

# Amendments: (key, contract key, when, type, sku of the subscription or product, quantity).
# `when` is (months before this month, day) or ("days ago", n).
AMENDMENTS = [
    ("martin-downsell", "martin-growth", (4, 16), AmendmentType.REDUCE_QUANTITY, "PLAN-GROWTH", 10),
    ("lone-star-sso", "lone-star-growth", (5, 1), AmendmentType.ADD_PRODUCT, "ADDON-SSO", 1),
    ("lumiere-cancel", "lumiere-starter", (3, 10), AmendmentType.CANCEL_CONTRACT, None, None),
    ("dubois-upsell", "dubois-growth", ("days ago", 20), AmendmentType.ADD_QUANTITY, "PLAN-GROWTH", 10),
]


# Deliveries confirmed by finance: (contract key, sku, days after the order's start it was delivered).
# The other lines that need delivery stay due; those due before today show as late.
DELIVERIES = [
    ("martin-growth", "SVC-ONBOARD", 0),
    ("saint-roch-kiosks", "HW-KIOSK", 12),       # late
    ("saint-roch-kiosks", "SVC-TRAINING", 3),    # late
    ("hotel-arts-terminals", "HW-TERMINAL", 0),
    ("harbor-terminals", "HW-TERMINAL", 9),      # late
    ("papillon-growth", "SVC-ONBOARD", 0),
    ("mercier-growth", "SVC-ONBOARD", 2),        # late
    ("northwind-growth", "SVC-ONBOARD", 0),
]


def month_start(today: date, months_ago: int, day: int = 1) -> date:
    """Day `day` of the month `months_ago` months before today's month (clamped to the month)."""
    return add_months(anchor=today.replace(day=1), months=-months_ago, day=day)


def when(today: date, spec) -> date:
    if spec[0] == "days ago":
        return today - timedelta(days=spec[1])
    return month_start(today, *spec)


def demo_orders():
    """The demo's orders (new business), found by their marker."""
    return Order.objects.filter(notes__startswith=MARK)


def demo_contract(key: str) -> Contract | None:
    return Contract.objects.filter(order__notes=f"{MARK}{key}").first()


def _orders_for_accepted_demo_quotes(*, actor) -> None:
    """The quotes demo leaves a quote accepted: its draft order is made here, once."""
    from quotes.demo import MARK as QUOTES_MARK
    from quotes.models import Quote

    for quote in Quote.objects.filter(notes__startswith=QUOTES_MARK, status=Quote.Status.ACCEPTED, order__isnull=True):
        services.order_create_from_quote(quote=quote, actor=actor)


def seed(*, stdout=None, owners=None, users=None) -> int:
    """Create and activate the demo orders once; returns how many orders were created."""
    _orders_for_accepted_demo_quotes(actor=(users or {}).get("sales"))
    done = set(demo_orders().values_list("notes", flat=True))
    if not done and Contract.objects.exists():
        _say(stdout, "  contracts: skipped (the database already has contracts; the demo history needs a fresh database)")
        return 0
    books = {b.currency: b for b in PriceBook.objects.filter(is_standard=True, active=True)}
    names = {name for _k, name, *_rest in CONTRACTS + DRAFTS}
    accounts = {a.name: a for a in Account.objects.filter(name__in=names)}
    skus = {sku for row in CONTRACTS + DRAFTS for sku, _q, _d in row[4]}
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    if len(accounts) < len(names) or len(products) < len(skus) or not {"EUR", "USD"} <= set(books):
        _say(stdout, "  contracts: skipped (the demo accounts, catalog or price books are missing)")
        return 0
    finance = (users or {}).get("finance")
    today = clock.today()
    created = 0
    for key, name, ago, term, items, options in CONTRACTS:
        if f"{MARK}{key}" in done:
            continue
        start = month_start(today, *ago)
        order = _order(key, accounts[name], books, products, start=start, term=term, items=items, options=options, actor=finance)
        services.order_activate(order=order, actor=finance, today=start)
        created += 1
    for key, name, days, term, items in DRAFTS:
        if f"{MARK}{key}" in done:
            continue
        _order(key, accounts[name], books, products, start=today + timedelta(days=days), term=term, items=items, options={},
               actor=finance)
        created += 1
    delivered = _deliver(today=today, actor=finance)
    _say(stdout, f"  contracts: {created} demo orders created, {Contract.objects.count()} contracts in all, "
                 f"{delivered} deliveries confirmed")
    return created


def _deliver(*, today: date, actor) -> int:
    """Confirm the demo's deliveries once (some late); the rest stay due."""
    count = 0
    for key, sku, days in DELIVERIES:
        op = OrderProduct.objects.filter(
            order__notes=f"{MARK}{key}", product__sku=sku, product__needs_delivery=True, delivered_date__isnull=True,
            order__status=Order.Status.ACTIVATED,
        ).select_related("order").first()
        if op is None:
            continue
        services.order_product_deliver(order_product=op, actor=actor, today=today,
                                       delivered_date=min(op.order.start_date + timedelta(days=days), today))
        count += 1
    return count


def _order(key, account, books, products, *, start, term, items, options, actor) -> Order:
    data = {"account": account, "price_book": books[account.currency], "start_date": start, "notes": f"{MARK}{key}", **options}
    if term is None:
        data.update(evergreen=True, term_months=12)
    else:
        data["term_months"] = term
    order = services.order_create(actor=actor, data=data)
    for sku, quantity, discount in items:
        services.order_product_add(
            order=order, actor=actor, product=products[sku], quantity=Decimal(quantity),
            discount_percent=None if discount is None else Decimal(discount),
        )
    return order


def amendment_events(*, today: date, actor=None) -> list[tuple[date, str, Callable[[], object]]]:
    """The demo amendments as (effective date, key, apply) for the invoicing demo's replay of the year.

    `apply()` amends the contract through `contract_amend` as if on its effective date."""
    events = []
    for key, contract_key, spec, kind, sku, quantity in AMENDMENTS:
        contract = demo_contract(contract_key)
        if contract is None:
            continue
        effective = when(today, spec)
        events.append((effective, key, _amend_later(contract, kind, sku, quantity, effective, actor)))
    return sorted(events, key=lambda e: e[0])


def _amend_later(contract, kind, sku, quantity, effective, actor):
    def apply():
        subscription = product = None
        if kind == AmendmentType.ADD_PRODUCT:
            product = Product.objects.get(sku=sku)
        elif sku:
            subscription = contract.subscriptions.filter(product__sku=sku, status=Subscription.Status.ACTIVE).first()
        request = AmendmentRequest(
            type=kind, effective_date=effective, subscription=subscription, product=product,
            quantity=None if quantity is None else Decimal(quantity),
        )
        return services.contract_amend(contract=contract, request=request, actor=actor, today=effective)

    return apply


def _say(stdout, text: str) -> None:
    if stdout:
        stdout.write(text)
