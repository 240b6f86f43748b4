import pytest

from quotes.tests import factories


@pytest.fixture
def cat(db):
    return factories.catalog()


@pytest.fixture
def acct(db):
    return factories.account(name="Maison Verte")


@pytest.fixture(autouse=True)
def _eager_tasks_and_media(settings, tmp_path):
    """Tasks run in-process and PDFs go to a temporary media folder."""
    from billing_site.celery import app

    settings.MEDIA_ROOT = tmp_path / "media"
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
