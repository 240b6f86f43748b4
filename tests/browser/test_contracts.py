from datetime import timedelta
from decimal import Decimal

import pytest

from billing_site import clock
from billing_site.roles import Role
from conftest import make_user
from contracts.models import Contract, ScheduleEntry
from contracts.tests.factories import Catalog, draft_order
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_finance_activates_amends_mid_period_with_preview_and_cancels(page):
    make_user("b-fin", Role.FINANCE)
    catalog = Catalog()
    seat = catalog.product("team-seat", price="120.00", frequency=1)
    today = clock.today()
    order = draft_order(catalog=catalog, start=today - timedelta(days=10), term=12, products=[(seat, 10)])

    login(page, "b-fin", "pw-b-fin")
    page.goto(f"{page.base_url}/contracts/orders/{order.pk}/")
    page.click("#activate-order")
    page.wait_for_selector("#contract-header")
    assert "activated: contract CTR-" in page.text_content(".messages")
    contract = Contract.objects.get()
    shot(page, "contract-activated")

    page.click("#amend-contract")
    page.select_option("#id_type", "add_quantity")
    page.select_option("#id_subscription", str(contract.subscriptions.get().pk))
    page.fill("#id_effective_date", today.isoformat())
    page.fill("#id_quantity", "5")
    page.click("#preview-amendment")
    page.wait_for_selector("#amendment-preview")
    rows = page.locator("#amendment-preview tbody tr")
    kinds = [rows.nth(i).locator("td.what").inner_text().strip() for i in range(rows.count())]
    # nothing billed yet: the 12 pending months are cancelled, the first kept until today, 12 new charges
    assert (kinds.count("Cancelled"), kinds.count("Kept until the date"), kinds.count("Charge")) == (12, 1, 12)
    assert ScheduleEntry.objects.filter(status="cancelled").count() == 0  # a preview writes nothing
    shot(page, "contract-amendment-preview")
    page.click("#confirm-amendment")
    page.wait_for_selector("#contract-header")
    assert "Amendment ORD-" in page.text_content(".messages")
    assert contract.subscriptions.get().quantity == Decimal("15")

    page.click("#cancel-contract")
    page.fill("#id_effective_date", (today + timedelta(days=3)).isoformat())
    page.click("#preview-amendment")
    page.wait_for_selector("#amendment-preview")
    # Cancelling says it is for good, on a red button, before anything is written.
    assert f"This ends contract {contract.number} for good" in page.text_content("#cancel-warning")
    assert page.text_content("#confirm-amendment").strip() == f"Cancel contract {contract.number}"
    page.click("#confirm-amendment")
    page.wait_for_selector("#contract-header")
    contract.refresh_from_db()
    assert contract.status == Contract.Status.CANCELLED
    assert "Cancelled" in page.text_content("#contract-header").replace("\n", " ") or "Cancelled" in page.text_content("h1")
    pending_after = ScheduleEntry.objects.filter(contract=contract, status="pending", period_start__gte=today + timedelta(days=3))
    assert [e.amount for e in pending_after] == []
    shot(page, "contract-cancelled")
