"""Demo contracts: a few activated contracts on EUR demo accounts, one amended mid-period, one
auto-renewing soon, one evergreen, and a draft order waiting for activation.

Idempotent: each demo order carries a marker in its notes; running again creates nothing twice.
Skips quietly when the catalog has no priced recurring product yet.
"""

from datetime import timedelta
from decimal import Decimal

from billing_site import clock
from catalog.models import PriceBook, PriceBookEntry, Product
from catalog.pricing import add_months
from contracts import services
from contracts.models import AmendmentType, Contract, Order
from contracts.services import AmendmentRequest
from customers.models import Account

MARK = "demo:contracts:"


def _products(book):
    entries = PriceBookEntry.objects.filter(price_book=book, active=True, product__active=True,
                                            product__billing_rule__isnull=False, product__tax_rule__isnull=False)
    recurring = [e.product for e in entries.filter(product__charge_type=Product.ChargeType.RECURRING, pricing_model="per_unit")
                 .select_related("product").order_by("product__sku")]
    one_time = [e.product for e in entries.filter(product__charge_type=Product.ChargeType.ONE_TIME).select_related("product")
                .order_by("product__sku")]
    return recurring, one_time


def seed(*, stdout=None, owners=None, users=None) -> int:
    """Create the demo orders and contracts once; returns how many were created."""
    book = PriceBook.objects.filter(currency="EUR", is_standard=True, active=True).first()
    accounts = list(Account.objects.filter(currency="EUR", status=Account.Status.ACTIVE, credit_hold=False).order_by("id")[:4])
    if book is None or len(accounts) < 4:
        if stdout:
            stdout.write("  contracts: skipped (no EUR price book or accounts yet)")
        return 0
    recurring, one_time = _products(book)
    if not recurring:
        if stdout:
            stdout.write("  contracts: skipped (no recurring product priced per unit in EUR)")
        return 0
    finance = (users or {}).get("finance")
    today = clock.today()
    done = set(Order.objects.filter(notes__startswith=MARK).values_list("notes", flat=True))
    created = 0

    def order(key, account, start, term, items, **extra):
        nonlocal created
        marker = f"{MARK}{key}"
        if marker in done:
            return None
        o = services.order_create(actor=finance, data={"account": account, "price_book": book, "start_date": start,
                                                        "term_months": term, "notes": marker, **extra})
        for product, quantity in items:
            services.order_product_add(order=o, actor=finance, product=product, quantity=Decimal(quantity))
        created += 1
        return o

    main = recurring[0]
    extra_product = recurring[1] if len(recurring) > 1 else recurring[0]
    setup = [(one_time[0], 1)] if one_time else []

    o = order("amended", accounts[0], today - timedelta(days=120), 12, [(main, 25), *setup])
    if o is not None:
        contract = services.order_activate(order=o, actor=finance, today=today)
        sub = contract.subscriptions.filter(product=main).first()
        services.contract_amend(
            contract=contract, actor=finance, today=today,
            request=AmendmentRequest(type=AmendmentType.ADD_QUANTITY, effective_date=today - timedelta(days=20),
                                     subscription=sub, quantity=Decimal("10")),
        )
    start = add_months(anchor=today, months=-23)
    o = order("renewing", accounts[1], start, 24, [(main, 10), (extra_product, 5)], auto_renew=True,
              renewal_pricing="uplift", uplift_percent=Decimal("3"), renewal_term_months=12)
    if o is not None:
        services.order_activate(order=o, actor=finance, today=today)
    o = order("evergreen", accounts[2], today - timedelta(days=45), 1, [(extra_product, 3)], evergreen=True)
    if o is not None:
        services.order_activate(order=o, actor=finance, today=today)
    order("draft", accounts[3], today + timedelta(days=7), 12, [(main, 50)])
    if stdout:
        stdout.write(f"  contracts: {created} demo orders created, {Contract.objects.count()} contracts in all")
    return created
