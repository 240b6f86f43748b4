from datetime import timedelta
from decimal import Decimal

import pytest

from billing_site import clock
from billing_site.money import round_money
from billing_site.roles import Role
from catalog.pricing import add_months
from conftest import make_user
from contracts.models import Contract, Order, ScheduleEntry
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

    # January-style: the current period is billed before the amendment
    from invoicing import services as invoicing_services

    invoicing_services.invoice_run_execute(
        run=invoicing_services.invoice_run_create(actor=None, target_date=today, start=False, auto_post=True)
    )
    period_end = add_months(anchor=today - timedelta(days=10), months=1)
    days, period_days = (period_end - today).days, (period_end - (today - timedelta(days=10))).days
    added = round_money(Decimal(5 * 10 * days) / period_days, "EUR")  # 5 seats × 10.00 a month × days left

    page.click("#amend-contract")
    page.select_option("#id_type", "add_quantity")
    page.select_option("#id_subscription", str(contract.subscriptions.get().pk))
    page.fill("#id_effective_date", today.isoformat())
    page.fill("#id_quantity", "5")
    page.click("#preview-amendment")
    page.wait_for_selector("#amendment-preview")
    rows = page.locator("#amendment-preview tbody tr")
    kinds = [rows.nth(i).locator("td.what").inner_text().strip() for i in range(rows.count())]
    # only the 5 added seats: for the rest of the billed period, then in each of the 11 later months; nothing cancelled
    assert (kinds.count("Cancelled"), kinds.count("Kept until the date"), kinds.count("Credit"), kinds.count("Charge")) == (0, 0, 0, 12)
    assert {rows.nth(i).locator("td.qty").inner_text().strip() for i in range(rows.count())} == {"+5"}
    first = rows.nth(0)
    assert first.locator("td.factor").inner_text().strip().startswith(f"{days}/{period_days} = ")
    assert f"{added:,}" in first.locator("td.num").last.inner_text()
    assert "Only the change is billed" in page.text_content("#preview-rule")
    assert ScheduleEntry.objects.filter(is_delta=True).count() == 0  # a preview writes nothing
    shot(page, "contract-amendment-preview")
    page.click("#confirm-amendment")
    page.wait_for_selector("#contract-header")
    assert "Amendment ORD-" in page.text_content(".messages")
    assert contract.subscriptions.get().quantity == Decimal("15")
    assert ScheduleEntry.objects.filter(is_delta=True, status="pending").count() == 12
    assert ScheduleEntry.objects.get(is_delta=True, period_start=today).amount == added
    assert "+5" in page.text_content("main")
    shot(page, "contract-after-delta-amendment")
    amendment = Order.objects.get(type=Order.Type.AMENDMENT)
    page.goto(f"{page.base_url}/contracts/orders/{amendment.pk}/")
    assert page.locator("#order-products tbody tr td.num").first.inner_text().strip() == "+5"
    page.goto(f"{page.base_url}/contracts/{contract.pk}/")

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
    # only the credit of the 10 billed seats for the billed days after the cancellation remains to bill
    assert [(e.kind, e.quantity) for e in pending_after] == [("credit", Decimal("10"))]
    shot(page, "contract-cancelled")
