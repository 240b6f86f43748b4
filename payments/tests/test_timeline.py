"""The account timeline: every stage's events on one axis, figures, filters, CSV and API; sales read it."""

import datetime as dt
from decimal import Decimal

import pytest

from contracts import services as contract_services
from contracts.tests.factories import Catalog, draft_order
from customers.services import account_set_credit_hold
from payments.selectors.timeline import (
    account_figures,
    timeline_axis,
    timeline_events,
    timeline_figures,
    timeline_filter,
)
from payments.services import payment_record
from payments.tests.factories import posted_credit_note, posted_invoice

pytestmark = pytest.mark.django_db
TODAY = dt.date(2025, 3, 10)


@pytest.fixture
def story(finance_user):
    catalog = Catalog()
    setup = catalog.product("SETUP", price="500.00", charge_type="one_time")
    setup.needs_delivery = True
    setup.save()
    plat = catalog.product("PLAT", price="1200.00", frequency=1)
    order = draft_order(catalog=catalog, start=dt.date(2025, 1, 1), products=[(setup, "1"), (plat, "1")])
    contract_services.order_activate(order=order, actor=None, today=dt.date(2025, 1, 1))
    op = order.products.get(product=setup)
    contract_services.order_product_deliver(order_product=op, actor=finance_user, delivered_date=dt.date(2025, 1, 8),
                                            today=dt.date(2025, 1, 8))
    account = order.account
    invoice = posted_invoice(account, ["600.00"], invoice_date=dt.date(2025, 1, 2), due_date=dt.date(2025, 2, 1))
    posted_invoice(account, ["100.00"], invoice_date=dt.date(2025, 2, 1), due_date=dt.date(2025, 3, 1))
    posted_credit_note(account, "50.00", credit_date=dt.date(2025, 1, 20), invoice=invoice)
    payment_record(account=account, amount=Decimal("550.00"), currency="EUR", received_date=dt.date(2025, 1, 25),
                   method="bank_transfer", today=dt.date(2025, 1, 25), auto_allocate=True)
    account_set_credit_hold(account=account, actor=finance_user, hold=True, reason="Overdue")
    return account


def test_the_timeline_holds_every_stage_in_date_order(story):
    events = timeline_events(account=story, today=TODAY)
    kinds = [(e.kind, e.status) for e in events]
    assert ("delivery", "late") in kinds and ("contract", "active") in kinds and ("order", "activated") in kinds
    assert [e.kind for e in events if e.kind in ("invoice", "credit_note", "payment")] == [
        "invoice", "credit_note", "payment", "invoice"]
    assert [e.day for e in events] == sorted(e.day for e in events)
    assert events[-1].kind == "credit_hold" and events[-1].label == "Credit hold on · Overdue"
    only = timeline_filter(events, kinds=["invoice"], start=dt.date(2025, 2, 1), end=None)
    assert [(e.day, e.amount) for e in only] == [(dt.date(2025, 2, 1), Decimal("100.00"))]


def test_figures_bought_delivered_billed_paid_open_overdue(story):
    figures = account_figures(account=story, today=TODAY)
    # Bought: setup 500 + a year of the platform 1200; billed 600 + 100 − 50; paid 550; open 100, overdue since 1 March.
    assert {k: figures[k] for k in ("bought", "billed", "paid", "open", "overdue", "lifetime_value")} == {
        "bought": Decimal("1700.00"), "billed": Decimal("650.00"), "paid": Decimal("550.00"), "open": Decimal("100.00"),
        "overdue": Decimal("100.00"), "lifetime_value": Decimal("550.00"),
    }
    assert (figures["delivered_count"], figures["delivery_count"], figures["delivered_late_count"]) == (1, 1, 1)


def test_figures_are_a_pure_function():
    figures = timeline_figures(bought_lines=[Decimal("10.00"), Decimal("0.01")], delivery_rows=[(None, dt.date(2025, 1, 1))], invoices=[Decimal("5")],
                               credit_notes=[Decimal("1")], payments=[Decimal("3")], refunds=[Decimal("1")],
                               open_amount=Decimal("1"), overdue_amount=Decimal("0"), currency="EUR")
    assert (figures["bought"], figures["billed"], figures["paid"], figures["delivered_count"]) == (
        Decimal("10.01"), Decimal("4.00"), Decimal("2.00"), 0)


def test_axis_places_events_by_date():
    from payments.selectors.timeline import Event

    events = [Event(dt.date(2025, 1, 1), "invoice", "A", "a"), Event(dt.date(2025, 1, 11), "payment", "B", "b")]
    axis = timeline_axis(events, width=330, left=120)
    assert [(d["x"], d["y"]) for d in axis["dots"]] == [(120, 20), (320.0, 42)]
    assert [lane["kind"] for lane in axis["lanes"]] == ["invoice", "payment"]


def test_page_csv_and_api_for_sales_read_only(story, sales_client, sales_api):
    page = sales_client.get(f"/payments/accounts/{story.pk}/timeline/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="timeline-axis"' in html and "dot-delivery status-late" in html and "action=\"/payments" not in html
    assert sales_client.post(f"/payments/accounts/{story.pk}/timeline/").status_code == 405
    csv = b"".join(sales_client.get(f"/payments/accounts/{story.pk}/timeline/?kind=payment&format=csv").streaming_content)
    assert csv.decode("utf-8-sig").splitlines()[1:] == [f"2025-01-25,payment,{story.payments.get().reference or story.payments.get().pk},Payment (Bank transfer),550.000000,EUR,bank_transfer"]
    data = sales_api.get(f"/api/v1/accounts/{story.pk}/timeline/?kind=invoice").json()
    assert data["figures"]["billed"] == "650.000000"
    assert [(e["day"], e["amount"]) for e in data["events"]] == [("2025-01-02", "600.000000"), ("2025-02-01", "100.000000")]
    assert f'href="/payments/accounts/{story.pk}/timeline/"' in sales_client.get(f"/accounts/{story.pk}/").content.decode()
