"""Shared fixtures: one user per role, logged-in clients, API clients."""

import os

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from billing_site.celery import app as celery_app
from billing_site.roles import Role, roles_sync_permissions

# Tasks that tests enqueue (PDFs, emails, run chunks) must not reach a real broker, where a running
# worker would execute them against another database. Celery lets CELERY_BROKER_URL in the
# environment override any configured broker, so it is taken out here and kept for the one test
# that starts a real worker on Redis; everything else goes to an in-memory transport.
REDIS_BROKER_URL = os.environ.pop("CELERY_BROKER_URL", "")
celery_app.conf.broker_url = "memory://"
celery_app.conf.broker_transport_options = {}


def make_user(username: str, role: Role | None):
    if Group.objects.filter(name__in=[r.value for r in Role]).count() < len(Role):
        roles_sync_permissions()
    user = get_user_model().objects.create_user(username=username, password="pw-" + username, email=f"{username}@x.test")
    if role is not None:
        user.groups.add(Group.objects.get(name=role.value))
        if role == Role.ADMIN:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def finance_user(db):
    return make_user("fiona", Role.FINANCE)


@pytest.fixture
def sales_user(db):
    return make_user("sam", Role.SALES)


@pytest.fixture
def admin_user(db):
    return make_user("ada", Role.ADMIN)


@pytest.fixture
def finance_client(client, finance_user):
    client.force_login(finance_user)
    return client


@pytest.fixture
def sales_client(client, sales_user):
    client.force_login(sales_user)
    return client


@pytest.fixture
def finance_api(finance_user):
    api = APIClient()
    api.force_authenticate(finance_user)
    return api


@pytest.fixture
def sales_api(sales_user):
    api = APIClient()
    api.force_authenticate(sales_user)
    return api


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def celery_eager(settings, tmp_path):
    """Tasks run in-process, as a worker would run them, and stored files go to a temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A request as a French user activates French in the test thread; later tests start in English."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
