"""Starting states for invoicing tests: a catalog with 20 % VAT, accounts, activated contracts.

Contracts are activated through `contracts.services.order_activate`, so the schedule is the real
one; posted or billed states always come from calling the services."""

from datetime import date
from decimal import Decimal

from catalog.models import TaxRate
from contracts import services as contract_services
from contracts.tests.factories import Catalog, draft_order
from customers.tests.factories import AccountFactory, ContactFactory

__all__ = ["AccountFactory", "Catalog", "ContactFactory", "activate", "make_catalog"]


def make_catalog() -> Catalog:
    catalog = Catalog()
    TaxRate.objects.create(tax_rule=catalog.tax, country="FR", name="VAT 20%", rate_percent=Decimal("20"))
    TaxRate.objects.create(tax_rule=catalog.tax, country="", name="VAT 0%", rate_percent=Decimal("0"))
    return catalog


def activate(*, catalog: Catalog, products, account=None, start=date(2025, 1, 1), term=12, today=None, **extra):
    """A new contract (activated), with (product, quantity) pairs."""
    order = draft_order(catalog=catalog, account=account, start=start, term=term, products=products, **extra)
    return contract_services.order_activate(order=order, actor=None, today=today or start)
