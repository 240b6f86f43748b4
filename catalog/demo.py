"""Demo catalog: two legal entities, VAT rules, billing rules, families and ~17 products priced in
EUR and USD standard books, using every pricing model, every charge type and both billing types.
Recur France SAS sells through the EUR book, Recur Inc. through the USD book: a product sold in
both is quoted and invoiced by the entity of the book it is sold through.
One product is deliberately not ready (no USD price) so the launch checklist has something to say.

Idempotent: entities, rules, families and books are matched by name, products by SKU, prices by
(product, book); running it again creates nothing twice.
"""

from decimal import Decimal

from catalog import services
from catalog.models import (
    BillingRule,
    LegalEntity,
    PriceBook,
    PriceBookEntry,
    Product,
    ProductFamily,
    TaxRule,
)

EU_COUNTRIES = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
]

ENTITIES = [
    {
        "name": "Recur France SAS", "address_line1": "18 rue de la Paix", "postal_code": "75002", "city": "Paris",
        "country": "FR", "tax_id": "FR40123456789", "currency": "EUR", "invoice_prefix": "FR-INV",
        "credit_note_prefix": "FR-CN", "email": "facturation@recur.example", "website": "recur.example",
        "bank_details": "BNP Paribas Paris Opéra\nIBAN FR76 3000 4008 2800 0123 4567 890\nBIC BNPAFRPPXXX",
        "legal_form": "SAS", "share_capital_amount": Decimal("50000.00"), "registration": "RCS Paris 123 456 789",
        "late_payment_rate_percent": Decimal("12.15"), "recovery_indemnity_amount": Decimal("40.00"),
        "legal_mentions": "SIRET 123 456 789 00012 · Code NAF 5829C",
    },
    {
        "name": "Recur Inc.", "address_line1": "500 Howard Street", "postal_code": "94105", "city": "San Francisco",
        "country": "US", "tax_id": "EIN 84-1234567", "currency": "USD", "invoice_prefix": "US-INV",
        "credit_note_prefix": "US-CN", "email": "billing@recur.example", "website": "recur.example",
        "bank_details": "Silicon Valley Bank\nACH routing 121140399 · Account 3301234567\nSWIFT SVBKUS6S",
        "legal_form": "Delaware corporation", "registration": "Delaware file no. 7654321",
        "late_payment_rate_percent": Decimal("18"),
    },
]

# (name, entity, boundary, day count)
RULES = [
    ("Anniversary · actual days", "Recur France SAS", "anniversary", "actual_days"),
    ("Billing day · actual days", "Recur France SAS", "billing_day", "actual_days"),
    ("Calendar · 30/360", "Recur France SAS", "calendar", "thirty_360"),
    ("US anniversary · actual days", "Recur Inc.", "anniversary", "actual_days"),
]

FAMILIES = [("SaaS plans", "15"), ("Add-ons", "20"), ("Services", "10"), ("Hardware", "5")]

# (name, currency, the legal entity that sells through it)
BOOKS = [("Standard EUR", "EUR", "Recur France SAS"), ("Standard USD", "USD", "Recur Inc.")]

ANNIV, BDAY, CAL, US_ANNIV = (r[0] for r in RULES)


def _t(*rows):
    """Tier rows (lower, upper or None, unit price[, flat fee]) as the service takes them."""
    return [
        {"lower": Decimal(r[0]), "upper": None if r[1] is None else Decimal(r[1]), "unit_price": Decimal(r[2]),
         **({"flat_fee": Decimal(r[3])} if len(r) > 3 else {})}
        for r in rows
    ]


def _price(model, eur, usd, **extra):
    """Prices per book: {book name: (model, data, tiers)}. Recurring prices are for the default term."""
    out = {}
    for book, value in (("Standard EUR", eur), ("Standard USD", usd)):
        if value is None:
            continue
        if isinstance(value, list):
            out[book] = (model, dict(extra), value)
        else:
            out[book] = (model, {"unit_price": Decimal(value), **extra}, None)
    return out


# sku, name, family, charge type, billing type, frequency, term, unit, rule, description, prices
PRODUCTS = [
    ("PLAN-STARTER", "Starter plan", "SaaS plans", "recurring", "advance", 1, None, "subscription", ANNIV,
     "Up to 5 users, email support. Price for 12 months, billed monthly.", _price("flat", "1188", "1308")),
    ("PLAN-GROWTH", "Growth plan (per seat)", "SaaS plans", "recurring", "advance", 1, None, "seat", BDAY,
     "Per named user, billed monthly on the account's billing day.", _price("per_unit", "480", "540")),
    ("PLAN-ENTERPRISE", "Enterprise plan (volume)", "SaaS plans", "recurring", "advance", 12, 12, "seat", ANNIV,
     "Every seat at the price of the volume band the total falls in. Billed yearly in advance.",
     _price("volume", _t(("1", "51", "600"), ("51", "201", "540"), ("201", None, "480", "5000")),
            _t(("1", "51", "660"), ("51", "201", "600"), ("201", None, "528", "5500")))),
    ("SEAT-ANALYTICS", "Analytics seats (graduated)", "Add-ons", "recurring", "advance", 3, None, "seat", CAL,
     "Graduated: the first 10 seats at the full price, the next 40 cheaper, then cheaper still. Billed per calendar quarter.",
     _price("tiered", _t(("1", "11", "360"), ("11", "51", "300"), ("51", None, "240")),
            _t(("1", "11", "400"), ("11", "51", "330"), ("51", None, "264")))),
    ("ADDON-SSO", "Single sign-on", "Add-ons", "recurring", "advance", 1, None, "subscription", ANNIV,
     "SAML / OIDC single sign-on for the whole organisation.", _price("flat", "1200", "1320")),
    ("ADDON-STORAGE", "Extra storage (blocks)", "Add-ons", "recurring", "advance", 1, None, "GB", CAL,
     "Blocks of storage: up to 100 GB, up to 500 GB, up to 2 TB. Price of the block for 12 months.",
     _price("block", _t(("1", "101", "240"), ("101", "501", "960"), ("501", "2001", "3000")),
            _t(("1", "101", "264"), ("101", "501", "1056"), ("501", "2001", "3300")))),
    ("USAGE-API", "API calls", "Add-ons", "usage", "arrears", 1, None, "call", ANNIV,
     "Graduated per call each month: the first 100,000 calls are included.",
     _price("tiered", _t(("0", "100000", "0"), ("100000", "1000000", "0.0008"), ("1000000", None, "0.0005")),
            _t(("0", "100000", "0"), ("100000", "1000000", "0.0009"), ("1000000", None, "0.00055")))),
    ("USAGE-SMS", "SMS notifications", "Add-ons", "usage", "arrears", 1, None, "SMS", ANNIV,
     "Sold in packs of 1,000 SMS; the first 500 each month are free.",
     _price("package", "10.00", "11.00", package_size=Decimal("1000"), free_units=Decimal("500"))),
    ("USAGE-STORAGE", "Storage overage", "Add-ons", "usage", "arrears", 1, None, "GB-month", ANNIV,
     "Storage above the plan's allowance, per GB-month.", _price("per_unit", "0.12", "0.13")),
    ("USAGE-COMPUTE", "Compute hours (volume)", "Add-ons", "usage", "arrears", 1, None, "hour", CAL,
     "All the month's hours at the rate of the band the total falls in.",
     _price("volume", _t(("0", "1000", "0.09"), ("1000", "10000", "0.07"), ("10000", None, "0.05")),
            _t(("0", "1000", "0.10"), ("1000", "10000", "0.08"), ("10000", None, "0.055")))),
    ("HW-TERMINAL", "Payment terminal", "Hardware", "one_time", "advance", 1, None, "device", ANNIV,
     "Countertop card terminal, shipped configured.", _price("per_unit", "349", "379")),
    ("HW-KIOSK", "Self-service kiosk", "Hardware", "one_time", "advance", 1, None, "device", ANNIV,
     "Floor-standing kiosk with a 22\" touch screen.", _price("per_unit", "2490", "2690")),
    ("HW-LEASE", "Terminal lease", "Hardware", "recurring", "arrears", 1, 36, "device", ANNIV,
     "Terminal lease over 36 months, billed monthly in arrears.", _price("per_unit", "540", "594")),
    ("SVC-ONBOARD", "Onboarding package", "Services", "one_time", "advance", 1, None, "package", ANNIV,
     "Kick-off, data import and configuration workshop.", _price("flat", "2500", "2900")),
    ("SVC-TRAINING", "Training day", "Services", "one_time", "advance", 1, None, "day", ANNIV,
     "On-site or remote training, per trainer-day.", _price("per_unit", "1200", "1400")),
    ("SVC-SUPPORT", "Premium support", "Services", "recurring", "arrears", 3, None, "subscription", CAL,
     "Named support engineer and 1-hour response time, billed per quarter in arrears.", _price("flat", "4800", "5400")),
    # Deliberately not ready: no USD price yet, so the checklist shows what is missing.
    ("PLAN-NONPROFIT", "Nonprofit plan", "SaaS plans", "recurring", "advance", 1, None, "seat", ANNIV,
     "Discounted per-seat plan for registered charities (USD price pending).", _price("per_unit", "240", None)),
]


# Hardware and on-site services are delivered: their order lines get a due date (Contracts → Deliveries).
NEEDS_DELIVERY = {"HW-TERMINAL", "HW-KIOSK", "SVC-ONBOARD", "SVC-TRAINING"}


def seed(*, stdout=None, owners=None, users=None) -> dict:
    """Create the demo catalog once; return how many objects of each kind were created."""
    created = {"entities": 0, "rules": 0, "families": 0, "books": 0, "products": 0, "prices": 0}
    entities = {e.name: e for e in LegalEntity.objects.all()}
    for data in ENTITIES:
        if data["name"] not in entities:
            entities[data["name"]] = services.legal_entity_create(actor=None, data=data)
            created["entities"] += 1
    france = entities["Recur France SAS"]
    us = entities["Recur Inc."]

    if not TaxRule.objects.filter(name="Standard VAT").exists():
        rates = [{"legal_entity": france, "country": "FR", "name": "TVA 20 %", "rate_percent": Decimal("20")}]
        rates += [
            {"legal_entity": france, "country": code, "name": "Autoliquidation (reverse charge)", "rate_percent": Decimal("0")}
            for code in EU_COUNTRIES
        ]
        rates.append({"legal_entity": us, "country": "", "name": "No sales tax", "rate_percent": Decimal("0")})
        services.tax_rule_create(
            actor=None, rates=rates,
            data={"name": "Standard VAT", "taxable": True, "description": "French VAT 20 % for French customers; "
                  "intra-EU B2B reverse charge at 0 %; no US sales tax in the demo."},
        )
        created["rules"] += 1
    if not TaxRule.objects.filter(name="Not taxable").exists():
        services.tax_rule_create(actor=None, data={"name": "Not taxable", "taxable": False, "description": "Outside the scope of VAT."})
        created["rules"] += 1
    vat = TaxRule.objects.get(name="Standard VAT")

    rules = {r.name: r for r in BillingRule.objects.all()}
    for name, entity, boundary, day_count in RULES:
        if name not in rules:
            rules[name] = services.billing_rule_create(
                actor=None, data={"name": name, "legal_entity": entities[entity], "period_boundary": boundary, "day_count": day_count},
            )
            created["rules"] += 1

    families = {f.name: f for f in ProductFamily.objects.all()}
    for name, percent in FAMILIES:
        if name not in families:
            families[name] = services.product_family_create(actor=None, data={"name": name, "approval_discount_percent": Decimal(percent)})
            created["families"] += 1

    books = {b.name: b for b in PriceBook.objects.all()}
    for name, currency, entity in BOOKS:
        if name not in books:
            standard = not PriceBook.objects.filter(currency=currency, is_standard=True).exists()
            books[name] = services.price_book_create(
                actor=None, data={"name": name, "currency": currency, "is_standard": standard, "legal_entity": entities[entity]},
            )
            created["books"] += 1
        elif books[name].legal_entity_id is None:
            # A demo database from before books named their legal entity (a choice made since is kept).
            books[name] = services.price_book_update(price_book=books[name], actor=None, data={"legal_entity": entities[entity]})

    products = {p.sku: p for p in Product.objects.all()}
    priced = set(PriceBookEntry.objects.values_list("product__sku", "price_book__name"))
    for sku, name, family, charge, billing, frequency, term, unit, rule, description, prices in PRODUCTS:
        if sku not in products:
            products[sku] = services.product_create(
                actor=None,
                data={
                    "sku": sku, "name": name, "description": description, "family": families[family], "charge_type": charge,
                    "billing_type": billing, "billing_frequency": frequency, "default_term_months": term,
                    "unit_of_measure": unit, "billing_rule": rules[rule], "tax_rule": vat,
                    "needs_delivery": sku in NEEDS_DELIVERY,
                },
            )
            created["products"] += 1
        for book_name, (model, data, tiers) in prices.items():
            if (sku, book_name) in priced:
                continue
            services.entry_save(
                actor=None, product=products[sku], price_book=books[book_name],
                data={"pricing_model": model, **data}, tiers=tiers or [],
            )
            created["prices"] += 1
    if stdout:
        stdout.write("  catalog: " + ", ".join(f"{count} {kind}" for kind, count in created.items()) + " created")
    return created
