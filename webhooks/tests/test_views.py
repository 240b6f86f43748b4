import datetime as dt

import pytest

from billing_site.events import event_record
from webhooks import services
from webhooks.models import Delivery, Endpoint
from webhooks.tests.receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_an_admin_adds_an_endpoint_on_the_page(admin_client):
    page = admin_client.get("/webhooks/")
    assert page.status_code == 200
    response = admin_client.post("/webhooks/new/", {"url": "https://erp.example.com/recur", "description": "ERP",
                                                    "event_types": ["invoice.posted", "invoice.paid"]})
    endpoint = Endpoint.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/webhooks/{endpoint.pk}/"
    assert (endpoint.url, endpoint.event_types, endpoint.is_active) == (
        "https://erp.example.com/recur", ["invoice.posted", "invoice.paid"], True)
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) == 54
    detail = admin_client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert endpoint.secret in detail


def test_a_bad_url_is_refused_with_its_reason_and_nothing_saved(admin_client):
    response = admin_client.post("/webhooks/new/", {"url": "file:///etc/passwd"})
    assert response.status_code == 200
    assert "Enter an http:// or https:// URL." in response.content.decode()
    assert Endpoint.objects.count() == 0


def test_disable_enable_and_resend_from_the_pages(admin_client, admin_user):
    with Receiver() as rx:
        endpoint = services.endpoint_create(actor=admin_user, data={"url": rx.url})
        event_record(type="quote.accepted", account_id=3, payload={"id": 1})
        services.webhooks_pump()
        delivery = Delivery.objects.get()
        page = admin_client.get(f"/webhooks/deliveries/{delivery.pk}/").content.decode()
        assert "quote.accepted" in page and ">200<" in page
        assert admin_client.post(f"/webhooks/deliveries/{delivery.pk}/resend/").status_code == 302
        services.webhooks_pump(now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert len(rx.requests) == 2
    admin_client.post(f"/webhooks/{endpoint.pk}/active/", {"active": "0"})
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (False, "Disabled by an Admin.")
    admin_client.post(f"/webhooks/{endpoint.pk}/active/", {"active": "1"})
    endpoint.refresh_from_db()
    assert endpoint.is_active is True


def test_only_admins_see_webhooks(finance_client):
    assert finance_client.get("/webhooks/").status_code == 403
