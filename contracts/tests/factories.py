"""Starting states for contract tests: a catalog with readable prices, an account, draft orders."""

from datetime import date
from decimal import Decimal

from djmoney.money import Money

from catalog.models import BillingRule, LegalEntity, PriceBook, PriceBookEntry, Product, TaxRule
from contracts import services
from contracts.models import Order
from customers.tests.factories import AccountFactory


class Catalog:
    """One legal entity, billing rules per boundary and day count, a EUR and a USD book."""

    def __init__(self):
        self.entity = LegalEntity.objects.create(
            name="Recur SAS", country="FR", currency="EUR", invoice_prefix="F", credit_note_prefix="AV"
        )
        self.tax = TaxRule.objects.create(name="Standard VAT")
        self.eur = PriceBook.objects.create(name="Standard EUR", currency="EUR", is_standard=True)
        self.usd = PriceBook.objects.create(name="Standard USD", currency="USD", is_standard=True)
        self._rules = {}

    def rule(self, boundary="anniversary", day_count="actual_days", generate_invoices=True) -> BillingRule:
        key = (boundary, day_count, generate_invoices)
        if key not in self._rules:
            self._rules[key] = BillingRule.objects.create(
                name=f"{boundary} {day_count} {generate_invoices}", legal_entity=self.entity, period_boundary=boundary,
                day_count=day_count, generate_invoices=generate_invoices,
            )
        return self._rules[key]

    def product(
        self, sku, *, price="1200.00", charge_type="recurring", frequency=12, billing_type="advance", term=None,
        boundary="anniversary", day_count="actual_days", books=("eur",), generate_invoices=True,
    ) -> Product:
        product = Product.objects.create(
            sku=sku, name=sku.replace("-", " ").title(), charge_type=charge_type, billing_type=billing_type,
            billing_frequency=frequency, default_term_months=term, tax_rule=self.tax,
            billing_rule=self.rule(boundary, day_count, generate_invoices),
        )
        for name in books:
            book = getattr(self, name)
            PriceBookEntry.objects.create(
                price_book=book, product=product, pricing_model="per_unit", unit_price=Money(Decimal(price), book.currency)
            )
        return product


def draft_order(*, catalog: Catalog, account=None, start=date(2025, 1, 1), term=12, products=(), actor=None, **extra) -> Order:
    """A draft order with (product, quantity) pairs, priced by the service."""
    account = account or AccountFactory()
    order = services.order_create(
        actor=actor, data={"account": account, "price_book": catalog.eur, "start_date": start, "term_months": term, **extra}
    )
    for product, quantity in products:
        services.order_product_add(order=order, actor=actor, product=product, quantity=Decimal(quantity))
    return order
