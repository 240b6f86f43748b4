import pytest

from quotes.tests import factories


@pytest.fixture
def cat(db):
    return factories.catalog()


@pytest.fixture
def acct(db):
    return factories.account(name="Maison Verte")


@pytest.fixture(autouse=True)
def _eager_tasks_and_media(celery_eager):
    """Tasks run in-process and PDFs go to a temporary media folder."""
