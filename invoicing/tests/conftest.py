from datetime import date

import pytest

from invoicing.tests.factories import AccountFactory, activate, make_catalog


@pytest.fixture
def catalog(db):
    return make_catalog()


@pytest.fixture
def monthly(catalog):
    """120.00 a month per seat (1,440.00 for the 12-month price term), billed monthly in advance."""
    return catalog.product("saas-seat", price="1440.00", frequency=1)


@pytest.fixture
def account(db):
    return AccountFactory(name="Maison Verte", country="FR", payment_terms_days=30)


@pytest.fixture
def contract(catalog, monthly, account):
    return activate(catalog=catalog, products=[(monthly, "2")], account=account, start=date(2025, 1, 15))
