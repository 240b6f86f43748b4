"""Fourteen months, day by day: the daily schedule runs every day, amendments and usage in between.

At the end every period due is billed exactly once, for exactly the amount its schedule entry
holds, credits are issued once as credit notes, and the totals per contract are what was sold.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from contracts import services as contract_services
from contracts.models import AmendmentType, ScheduleEntry
from contracts.services import AmendmentRequest
from invoicing import services
from invoicing.models import CreditNoteLine, Invoice, InvoiceLine, InvoiceRun
from invoicing.tests.factories import AccountFactory, activate, make_catalog

pytestmark = pytest.mark.django_db


def test_fourteen_months_of_daily_runs_bill_every_period_once_with_the_promised_amounts():
    catalog = make_catalog()
    seat = catalog.product("seat", price="1440.00", frequency=1)  # 120.00 a month, anniversary, advance
    support = catalog.product("support", price="2400.00", frequency=3, billing_type="arrears", boundary="billing_day")
    calls = catalog.product("api-calls", price="0.01", charge_type="usage", billing_type="arrears", frequency=1)
    annual = catalog.product("licence", price="1200.00", frequency=12, boundary="calendar")
    alice, bob = AccountFactory(name="Alice SA", billing_day=1), AccountFactory(name="Bob SARL")
    start = dt.date(2025, 1, 1)
    main = activate(catalog=catalog, account=alice, start=dt.date(2025, 1, 31), today=dt.date(2025, 1, 20),
                    products=[(seat, "2"), (support, "1"), (calls, "1")])
    activate(catalog=catalog, account=bob, start=dt.date(2025, 2, 10), today=dt.date(2025, 1, 20), products=[(annual, "1")])
    seats = main.subscriptions.get(product=seat)
    usage_sub = main.subscriptions.get(product=calls)
    services.invoice_schedule_save(actor=None, data={"name": "Daily", "frequency": "daily", "auto_post": True}, today=start)

    amendments = {
        dt.date(2025, 4, 10): AmendmentRequest(type=AmendmentType.ADD_QUANTITY, effective_date=dt.date(2025, 4, 20),
                                               subscription=seats, quantity=Decimal("1")),
        dt.date(2025, 7, 5): AmendmentRequest(type=AmendmentType.REDUCE_QUANTITY, effective_date=dt.date(2025, 7, 15),
                                              subscription=seats, quantity=Decimal("2")),
        dt.date(2025, 10, 1): AmendmentRequest(type=AmendmentType.CANCEL_SUBSCRIPTION, effective_date=dt.date(2025, 10, 15),
                                               subscription=main.subscriptions.get(product=support)),
        # a price change in a billed period: its credit and charge are netted on one invoice
        dt.date(2025, 11, 10): AmendmentRequest(type=AmendmentType.CHANGE_PRICE, effective_date=dt.date(2025, 11, 15),
                                                subscription=seats, unit_price=Decimal("1800.00")),
    }
    promised_changes = Decimal("0")
    day, end = start, dt.date(2026, 3, 1)
    while day <= end:
        if day in amendments:
            preview = contract_services.contract_amendment_preview(contract=main, request=amendments[day], today=day)
            promised_changes += preview.net_amount
            contract_services.contract_amend(contract=main, request=amendments[day], actor=None, today=day)
        if day.day == 5 and dt.date(2025, 2, 1) < day < dt.date(2026, 1, 31):
            result = services.usage_ingest(records=[
                {"subscription": usage_sub.pk, "quantity": "1000", "timestamp": f"{day.isoformat()}T10:00:00+01:00",
                 "idempotency_key": f"calls-{day.isoformat()}"},
                {"subscription": usage_sub.pk, "quantity": "1000", "timestamp": f"{day.isoformat()}T10:00:00+01:00",
                 "idempotency_key": f"calls-{day.isoformat()}"},
            ], actor=None)
            assert (result.imported, result.duplicates) == (1, 1)
        services.invoice_schedules_dispatch(today=day, synchronous=True)
        day += dt.timedelta(days=1)

    runs = InvoiceRun.objects.all()
    assert runs.count() == (end - start).days + 1
    assert set(runs.values_list("status", flat=True)) == {"completed"}
    due = ScheduleEntry.objects.filter(bill_on__lte=end).exclude(status="cancelled")
    assert not due.filter(status="pending").exists()
    # Every billed period sits on exactly one live line, for exactly its scheduled amount.
    lines = {ln.billing_key: ln.net_amount for ln in InvoiceLine.objects.exclude(billing_key=None)}
    credits = {ln.credit_key: ln.net_amount for ln in CreditNoteLine.objects.exclude(credit_key=None)}
    for entry in due:
        if entry.pk in credits:  # on a credit note: credits positive, a netted charge negative
            assert credits.pop(entry.pk) == -entry.amount, entry
        else:  # on an invoice: charges positive, a netted credit negative
            assert lines.pop(entry.pk) == entry.amount, entry
    assert lines == {} and credits == {}
    # The price change: one invoice holds the new price's charge and the old price's credit.
    price_change = ScheduleEntry.objects.get(kind="credit", period_start=dt.date(2025, 11, 15))
    netted = InvoiceLine.objects.get(billing_key=price_change.pk)
    # 1 seat, 15 of 30 days: 150.00 × 15/30 at the new price, 120.00 × 15/30 credited at the old one
    assert [(ln.description, ln.net_amount, ln.corrects_id is not None) for ln in netted.invoice.lines.order_by("position")] == [
        ("Seat", Decimal("75.00"), False),
        (f"Seat: −1 credited by amendment {price_change.source_order.number} (corrects invoice {netted.corrects.invoice.number}, line {netted.corrects.position})",
         Decimal("-60.00"), True),
    ]
    assert netted.corrects.invoice.status == "posted" and netted.corrects.net_amount == Decimal("120.00")
    # The licence: 12 months sold at 1,200.00, billed as 325/365 then 40/365 of the calendar year.
    bob_lines = list(InvoiceLine.objects.filter(invoice__account=bob).order_by("period_start").values_list(
        "period_start", "period_end", "factor_display", "net_amount"))
    assert bob_lines == [
        (dt.date(2025, 2, 10), dt.date(2026, 1, 1), "325/365 = 0.890411", Decimal("1068.49")),
        (dt.date(2026, 1, 1), dt.date(2026, 2, 10), "40/365 = 0.109589", Decimal("131.51")),
    ]
    # Alice: what was invoiced less what was credited is the original schedule plus each amendment's net change.
    original = Decimal("120") * 2 * 12 + Decimal("2400") + Decimal("0.01") * 1000 * 12
    invoiced = InvoiceLine.objects.filter(invoice__account=alice).aggregate(s=Sum("net_amount"))["s"]
    credited = CreditNoteLine.objects.filter(credit_note__account=alice).aggregate(s=Sum("net_amount"))["s"] or 0
    assert invoiced - credited == original + promised_changes
    assert Invoice.objects.filter(status="draft").count() == 0
