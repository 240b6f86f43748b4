"""Demo quotes in every state, on the demo accounts and catalog, made through the services.

Idempotent: quotes are matched by their note, so running it again creates nothing twice. Needs the
customers and catalog demo data (seeded before, in flow order); quietly does nothing without them.
"""

import datetime as dt
from decimal import Decimal

from billing_site import clock
from catalog.models import PriceBook, Product
from customers.models import Account
from quotes import services
from quotes.models import Quote

MARK = "[demo]"

# (note, account name, book currency, lines [(sku, quantity, discount %)], final state)
QUOTES = [
    ("Growth rollout", "Boulangeries Martin", "EUR", [("PLAN-GROWTH", "25", "10"), ("SVC-ONBOARD", "1", None), ("USAGE-API", "1", None)], "draft"),
    ("Enterprise deal, big discount", "Atelier Dufresne", "EUR", [("PLAN-GROWTH", "120", "30"), ("ADDON-SSO", "1", None)], "in_review"),
    ("Support upsell", "Transports Lefèvre", "EUR", [("SVC-SUPPORT", "1", "5")], "approved"),
    ("Kiosks for the new stores", "Clinique Saint-Roch", "EUR", [("HW-KIOSK", "3", None), ("SVC-TRAINING", "2", None)], "presented"),
    ("Starter for the new office", "Vignobles Castel", "EUR", [("PLAN-STARTER", "1", None)], "accepted"),
    ("Northwind expansion", "Northwind Traders", "USD", [("PLAN-GROWTH", "40", "18"), ("SVC-ONBOARD", "1", None)], "in_review"),
    ("Analytics seats", "Blue Ridge Analytics", "USD", [("SEAT-ANALYTICS", "30", None)], "draft"),
]


def seed(*, stdout=None, owners=None, users=None) -> list[Quote]:
    """Create the demo quotes once."""
    users = users or {}
    sales = users.get("sales") or (owners[0] if owners else None)
    finance = users.get("finance")
    existing = set(Quote.objects.filter(notes__startswith=MARK).values_list("notes", flat=True))
    today = clock.today()
    created = []
    for note, account_name, currency, lines, state in QUOTES:
        notes = f"{MARK} {note}"
        if notes in existing:
            continue
        account = Account.objects.filter(name=account_name).first()
        book = PriceBook.objects.filter(currency=currency, is_standard=True, active=True).first()
        products = {p.sku: p for p in Product.objects.filter(sku__in=[sku for sku, _q, _d in lines])}
        if account is None or book is None or len(products) < len(lines):
            continue
        quote = services.quote_create(
            actor=sales, account=account, price_book=book, start_date=today.replace(day=1) + dt.timedelta(days=32),
            term_months=12, notes=notes, today=today,
        )
        try:
            for sku, quantity, discount in lines:
                services.quote_line_add(
                    quote=quote, actor=sales, product=products[sku], quantity=Decimal(quantity),
                    discount_percent=None if discount is None else Decimal(discount),
                )
        except Exception:  # noqa: BLE001 - a catalog product that is not ready: keep the draft as it is
            created.append(quote)
            continue
        _advance(quote, state, sales=sales, finance=finance, today=today)
        created.append(quote)
    if stdout:
        stdout.write(f"  quotes: {len(created)} created, {len(existing)} already there")
    return created


def _advance(quote: Quote, state: str, *, sales, finance, today) -> None:
    if state == "draft":
        return
    quote = services.quote_submit(quote=quote, actor=sales, open_balance=Decimal("0"), today=today)
    if state == "in_review" or quote.status == Quote.Status.IN_REVIEW and finance is None:
        return
    if quote.status == Quote.Status.IN_REVIEW:
        quote = services.quote_approve(quote=quote, actor=finance, comment="Demo approval")
    if state == "approved":
        return
    quote = services.quote_present(quote=quote, actor=sales, today=today)
    if state == "accepted":
        # The draft order of an accepted quote is the contracts stage's demo data (contracts/demo.py).
        services.quote_accept(quote=quote, actor=sales, today=today)
