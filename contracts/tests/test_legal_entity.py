"""Subscriptions are issued by the legal entity of the contract's price book (else the billing rule's)."""

from datetime import date
from decimal import Decimal

import pytest

from catalog import services as catalog_services
from catalog.models import LegalEntity
from contracts import services
from contracts.models import AmendmentType, Subscription
from contracts.services import AmendmentRequest
from contracts.tests.factories import Catalog, draft_order
from customers.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def catalog():
    catalog = Catalog()  # billing rules name Recur SAS
    catalog.inc = LegalEntity.objects.create(
        name="Recur Inc.", country="US", currency="USD", invoice_prefix="US-INV", credit_note_prefix="US-CN"
    )
    catalog.usd = catalog_services.price_book_update(price_book=catalog.usd, actor=None, data={"legal_entity": catalog.inc})
    return catalog


@pytest.fixture
def usd_contract(catalog, finance_user):
    seat = catalog.product("seat-monthly", price="1440.00", frequency=1, books=("eur", "usd"))
    order = draft_order(catalog=catalog, account=AccountFactory(country="US", currency="USD"), start=date(2025, 1, 1),
                        term=12, products=[(seat, 10)], price_book=catalog.usd)
    return services.order_activate(order=order, actor=finance_user, today=date(2025, 1, 1))


def entities(contract):
    return [(s.product.sku, s.unit_price, s.legal_entity.name)
            for s in Subscription.objects.filter(contract=contract).select_related("product", "legal_entity").order_by("id")]


def test_activation_in_the_usd_book_issues_from_its_entity(usd_contract):
    assert entities(usd_contract) == [("seat-monthly", D("1440"), "Recur Inc.")]


def test_an_added_product_is_sold_by_the_books_entity(catalog, usd_contract, finance_user):
    sso = catalog.product("sso", price="1200.00", frequency=1, books=("eur", "usd"))
    request = AmendmentRequest(type=AmendmentType.ADD_PRODUCT, effective_date=date(2025, 3, 1), product=sso, quantity=D("1"))
    services.contract_amend(contract=usd_contract, request=request, actor=finance_user, today=date(2025, 2, 20))
    assert entities(usd_contract) == [("seat-monthly", D("1440"), "Recur Inc."), ("sso", D("1200"), "Recur Inc.")]


def test_a_new_price_continues_the_subscriptions_entity(catalog, usd_contract, finance_user):
    # The book changes hands afterwards: the running subscription keeps its issuer, at its new price too.
    catalog_services.price_book_update(price_book=catalog.usd, actor=None, data={"legal_entity": catalog.entity})
    sub = usd_contract.subscriptions.get()
    request = AmendmentRequest(type=AmendmentType.CHANGE_PRICE, effective_date=date(2025, 3, 1), subscription=sub,
                               unit_price=D("1320"))
    services.contract_amend(contract=usd_contract, request=request, actor=finance_user, today=date(2025, 2, 20))
    assert entities(usd_contract) == [("seat-monthly", D("1440"), "Recur Inc."), ("seat-monthly", D("1320"), "Recur Inc.")]
