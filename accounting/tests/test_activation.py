"""Schedules created at order activation: the ordered line's revenue is scheduled when the order is
activated and recognized through unbilled revenue (418); invoices of that line write no schedule of
their own (never recognized twice), credit it back out of 418, and the last one trues up the cents."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db.models import Sum

from accounting.models import (
    ChartAccount,
    FinancePeriod,
    JournalEntry,
    JournalLine,
    RecognitionTiming,
    RevenueLine,
)
from accounting.services import books_process, period_close
from billing_site.money import round_money
from contracts import services as contracts
from contracts.tests.factories import Catalog, draft_order
from invoicing.models import Invoice, InvoiceLine, LineSource
from invoicing.services.documents import credit_note_create, credit_note_post, invoice_post

pytestmark = pytest.mark.django_db
JAN1 = dt.date(2025, 1, 1)


@pytest.fixture
def ordered():
    """A year of PLAT (365.00, billed monthly), scheduled at order activation, activated on 1 January."""
    catalog = Catalog()
    plat = catalog.product("PLAT", price="365.00", frequency=1)
    RecognitionTiming.objects.create(product=plat, schedule_on=RecognitionTiming.ScheduleOn.ORDER_ACTIVATION)
    order = draft_order(catalog=catalog, start=JAN1, products=[(plat, "1")])
    contracts.order_activate(order=order, actor=None, today=JAN1)
    op = order.products.get()
    return catalog.entity, op, op_subscription(op)


def op_subscription(op):
    from contracts.models import Subscription

    return Subscription.objects.get(origin=op)


def invoice(entity, sub, *, day, start, end, net):
    inv = Invoice.objects.create(account=sub.account, legal_entity=entity, currency="EUR", payment_terms_days=30)
    net = D(net)
    tax = round_money(net * D("0.2"), "EUR")
    line = InvoiceLine.objects.create(
        invoice=inv, position=1, source=LineSource.SUBSCRIPTION, subscription=sub, description="PLAT", period_start=start,
        period_end=end, quantity=D("1"), unit_price=net, net_amount=net, tax_rate_percent=D("20"), tax_amount=tax, total_amount=net + tax,
    )
    return invoice_post(invoice=inv, actor=None, today=day, invoice_date=day), line


def balance(entity, code) -> D:
    account = ChartAccount.objects.get(legal_entity=entity, code=code)
    t = JournalLine.objects.filter(ledger_account=account).aggregate(d=Sum("debit"), c=Sum("credit"))
    return ((t["d"] or D(0)) - (t["c"] or D(0))).quantize(D("0.01"))


def close(entity, *months):
    for m in months:
        p = FinancePeriod.objects.get(legal_entity=entity, name=f"2025-{m:02d}")
        period_close(period=p, actor=None, today=dt.date(2025, m, 28))


def lines_of(entry):
    return sorted((x.ledger_account.code, x.debit, x.credit) for x in entry.lines.all())


def test_activation_schedules_then_invoices_settle_unbilled_revenue_to_the_cent(ordered):
    entity, op, sub = ordered
    assert op.total_amount == D("365.00")
    assert books_process(today=JAN1)["schedules"] == 1
    assert books_process(today=JAN1)["schedules"] == 0  # once
    rows = list(RevenueLine.objects.filter(order_product=op).order_by("period_start"))
    assert [r.amount for r in rows] == [D("31.00"), D("28.00"), D("31.00"), D("30.00"), D("31.00"), D("30.00"), D("31.00"),
                                        D("31.00"), D("30.00"), D("31.00"), D("30.00"), D("31.00")]
    assert not JournalEntry.objects.exists()  # nothing billed, nothing journaled

    # January is recognized before anything is invoiced: Dr 418 / Cr 706.
    close(entity, 1)
    recognition = JournalEntry.objects.get(kind=JournalEntry.Kind.RECOGNITION)
    assert lines_of(recognition) == [("418", D("31.00"), D("0")), ("706", D("0"), D("31.00"))]

    # January billed in arrears on 1 February: 30.42 settles 418; the line writes no schedule rows.
    first, first_line = invoice(entity, sub, day=dt.date(2025, 2, 1), start=JAN1, end=dt.date(2025, 2, 1), net="30.42")
    assert books_process(today=dt.date(2025, 2, 1))["invoices"] == 1
    assert lines_of(JournalEntry.objects.get(invoice=first)) == [
        ("411", D("36.50"), D("0")), ("418", D("0"), D("30.42")), ("44571", D("0"), D("6.08"))]
    assert not RevenueLine.objects.filter(invoice_line=first_line).exists()
    assert balance(entity, "418") == D("0.58")

    # The other eleven months billed at 30.42 each on one line: 334.62, so the term bills 365.04
    # against 365.00 scheduled; the last invoice trues up 0.04 in December.
    rest, rest_line = invoice(entity, sub, day=dt.date(2025, 2, 1), start=dt.date(2025, 2, 1), end=dt.date(2026, 1, 1), net="334.62")
    books_process(today=dt.date(2025, 2, 1))
    assert lines_of(JournalEntry.objects.get(invoice=rest)) == [
        ("411", D("401.54"), D("0")), ("418", D("0"), D("334.62")), ("44571", D("0"), D("66.92"))]
    assert [(r.period_start, r.amount) for r in RevenueLine.objects.filter(invoice_line=rest_line)] == [(dt.date(2025, 12, 1), D("0.04"))]

    # A goodwill credit of 10.00 on that line takes back December's unrecognized schedule first.
    note = credit_note_create(invoice=rest, lines={rest_line.pk: D("10.00")}, reason="Goodwill", actor=None)
    note = credit_note_post(credit_note=note, actor=None, today=dt.date(2025, 2, 10))
    books_process(today=dt.date(2025, 2, 10))
    assert lines_of(JournalEntry.objects.get(credit_note=note)) == [
        ("411", D("0"), D("12.00")), ("418", D("10.00"), D("0")), ("44571", D("2.00"), D("0"))]
    assert [(r.period_start, r.amount) for r in RevenueLine.objects.filter(credit_note_line__credit_note=note)] == [
        (dt.date(2025, 12, 1), D("-10.00"))]

    close(entity, *range(2, 13))
    # Recognized: the schedule 365.00 + the true-up 0.04 − the credit 10.00; 418 ends at zero.
    assert balance(entity, "706") == D("-355.04")
    assert balance(entity, "418") == D("0.00")
    assert balance(entity, "487") == D("0.00")
    assert RevenueLine.objects.filter(order_product=op).aggregate(s=Sum("amount"))["s"] == D("355.04")
    assert not RevenueLine.objects.filter(order_product=op, recognized_period__isnull=True).exists()
    december = JournalEntry.objects.get(kind=JournalEntry.Kind.RECOGNITION, period__name="2025-12")
    assert lines_of(december) == [("418", D("21.04"), D("0")), ("706", D("0"), D("21.04"))]


def test_without_the_setting_the_schedule_waits_for_the_invoice(ordered):
    entity, op, sub = ordered
    RecognitionTiming.objects.filter(product=sub.product).update(schedule_on=RecognitionTiming.ScheduleOn.INVOICE_POSTING)
    assert books_process(today=JAN1)["schedules"] == 0
    assert not RevenueLine.objects.exists()
    first, line = invoice(entity, sub, day=JAN1, start=JAN1, end=dt.date(2025, 2, 1), net="30.42")
    books_process(today=JAN1)
    assert lines_of(JournalEntry.objects.get(invoice=first)) == [
        ("411", D("36.50"), D("0")), ("44571", D("0"), D("6.08")), ("487", D("0"), D("30.42"))]
    assert RevenueLine.objects.get(invoice_line=line).amount == D("30.42")



def test_a_subscription_invoiced_before_the_setting_keeps_its_invoice_schedules(ordered):
    entity, op, sub = ordered
    RecognitionTiming.objects.filter(product=sub.product).update(schedule_on=RecognitionTiming.ScheduleOn.INVOICE_POSTING)
    invoice(entity, sub, day=JAN1, start=JAN1, end=dt.date(2025, 2, 1), net="30.42")
    books_process(today=JAN1)
    RecognitionTiming.objects.filter(product=sub.product).update(schedule_on=RecognitionTiming.ScheduleOn.ORDER_ACTIVATION)
    assert books_process(today=JAN1)["schedules"] == 0
    assert RevenueLine.objects.aggregate(s=Sum("amount"))["s"] == D("30.42")
