"""Two workers pumping at once on PostgreSQL: every event reaches the endpoint exactly once, in order per account."""

import threading

import pytest
from django.conf import settings
from django.db import connections

from billing_site.events import event_record
from billing_site.roles import Role
from conftest import make_user
from webhooks import services
from webhooks.models import Delivery
from webhooks.tests.receiver import Receiver

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql", reason="needs PostgreSQL"),
]


def test_two_pumps_at_once_send_each_event_once_and_each_account_in_order():
    admin = make_user("pg-admin", Role.ADMIN)
    with Receiver() as rx:
        services.endpoint_create(actor=admin, data={"url": rx.url})
        events = [event_record(type="invoice.posted", account_id=n % 4, payload={"id": n}) for n in range(40)]
        errors = []

        def pump():
            try:
                for _ in range(30):
                    services.webhooks_pump()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=pump) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    received = rx.event_ids()
    assert sorted(received) == sorted(e.event_id for e in events)  # each once
    for account in range(4):
        expected = [e.event_id for e in events if e.account_id == account]
        assert [i for i in received if i in set(expected)] == expected
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
