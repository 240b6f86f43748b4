"""Webhooks in a real browser: an Admin adds an endpoint, sees a delivery and its response code, resends it."""

import pytest

from billing_site.events import event_record
from billing_site.roles import Role
from conftest import make_user
from tests.browser.conftest import login, shot
from webhooks import services
from webhooks.models import Delivery, Endpoint
from webhooks.tests.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def test_add_an_endpoint_see_the_delivery_log_and_resend(page):
    make_user("b-admin", Role.ADMIN)
    with Receiver() as rx:
        login(page, "b-admin", "pw-b-admin")
        page.click("text=Webhooks")
        page.click("#add-endpoint")
        page.fill("#id_url", rx.url)
        page.fill("#id_description", "ERP sync")
        page.check("input[value='invoice.posted']")
        page.click("button[type=submit] >> text=Save")
        page.wait_for_selector("text=Endpoint added")
        endpoint = Endpoint.objects.get()
        assert endpoint.event_types == ["invoice.posted"]
        event_record(type="invoice.posted", account_id=4, payload={"id": 1, "number": "INV-0001"})
        services.webhooks_pump()
        page.reload()
        page.wait_for_selector("#deliveries >> text=invoice.posted")
        shot(page, "webhooks-endpoint")
        page.click("#deliveries >> a")
        page.wait_for_selector("#attempts >> text=200")
        page.click("#resend")
        page.wait_for_selector("text=The delivery will be sent again in a moment.")
        services.webhooks_pump()
        shot(page, "webhooks-delivery")
    assert len(rx.requests) == 2
    assert Delivery.objects.get().attempts_count == 2
