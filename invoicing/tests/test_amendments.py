"""Amendments as invoice runs bill them: deltas, one billing date, one netted document (exact amounts)."""

from datetime import date
from decimal import Decimal

import pytest

from contracts import services as contract_services
from contracts.models import AmendmentType
from contracts.services import AmendmentRequest
from invoicing import services
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from invoicing.tests.factories import activate

pytestmark = pytest.mark.django_db
D = Decimal


def run(target):
    return services.invoice_run_execute(run=services.invoice_run_create(actor=None, target_date=target, start=False, auto_post=True))


def amend(contract, today, **request):
    request.setdefault("subscription", contract.subscriptions.get(status="active"))
    return contract_services.contract_amend(contract=contract, actor=None, today=today, request=AmendmentRequest(**request))


def lines(document):
    return [
        (ln.description, ln.period_start, ln.quantity, ln.factor_display, ln.net_amount, ln.tax_amount)
        for ln in document.lines.order_by("position")
    ]


@pytest.fixture
def seats(catalog, account):
    """8 seats at 20.00 a month from 2025-01-01, January billed."""
    product = catalog.product("seat", price="240.00", frequency=1)
    contract = activate(catalog=catalog, products=[(product, "8")], account=account, start=date(2025, 1, 1))
    run(date(2025, 1, 1))
    return contract


def test_adding_three_seats_bills_one_line_for_the_three_added_seats(seats):
    order = amend(seats, date(2025, 1, 21), type=AmendmentType.ADD_QUANTITY, effective_date=date(2025, 1, 21), quantity=D("3"))
    result = run(date(2025, 1, 21))
    assert (result.invoices_count, result.credit_notes_count) == (1, 0)
    invoice = Invoice.objects.get(invoice_date=date(2025, 1, 21))
    # 3 × 20.00 × 11/31 = 21.29: no credit of the 8 seats, no second document
    assert lines(invoice) == [
        (f"Seat: +3 added by amendment {order.number}", date(2025, 1, 21), D("3"), "11/31 = 0.354839", D("21.29"), D("4.26")),
    ]
    assert CreditNote.objects.count() == 0
    run(date(2025, 2, 1))
    february = Invoice.objects.get(invoice_date=date(2025, 2, 1))
    assert [(ln.quantity, ln.net_amount) for ln in february.lines.order_by("position")] == [(D("8"), D("160.00")), (D("3"), D("60.00"))]


def test_a_backdated_price_change_is_billed_by_one_run_on_one_invoice(seats):
    run(date(2025, 2, 1))
    january, february = (InvoiceLine.objects.get(period_start=day) for day in (date(2025, 1, 1), date(2025, 2, 1)))
    order = amend(seats, date(2025, 2, 5), type=AmendmentType.CHANGE_PRICE, effective_date=date(2025, 1, 21), unit_price=D("360.00"))
    assert run(date(2025, 2, 4)).invoices_count == 0  # everything the amendment wrote is billed on the 5th
    result = run(date(2025, 2, 5))
    assert (result.invoices_count, result.credit_notes_count) == (1, 0)
    invoice = Invoice.objects.get(invoice_date=date(2025, 2, 5))
    assert lines(invoice) == [
        ("Seat", date(2025, 1, 21), D("8"), "11/31 = 0.354839", D("85.16"), D("17.03")),  # 8 × 30.00 × 11/31
        ("Seat", date(2025, 2, 1), D("8"), "28/28 = 1.000000", D("240.00"), D("48.00")),
        (f"Seat: −8 credited by amendment {order.number} (corrects invoice F000001, line 1)", date(2025, 1, 21), D("8"),
         "11/31 = 0.354839", D("-56.77"), D("-11.35")),
        (f"Seat: −8 credited by amendment {order.number} (corrects invoice F000002, line 1)", date(2025, 2, 1), D("8"), "28/28 = 1.000000", D("-160.00"), D("-32.00")),
    ]
    assert (invoice.subtotal_amount, invoice.tax_amount, invoice.total_amount) == (D("108.39"), D("21.68"), D("130.07"))
    # each credit line names the original invoice line it corrects
    assert [ln.corrects_id for ln in invoice.lines.order_by("position")] == [None, None, january.pk, february.pk]


def test_a_price_decrease_nets_on_one_credit_note(seats):
    amend(seats, date(2025, 1, 21), type=AmendmentType.CHANGE_PRICE, effective_date=date(2025, 1, 21), unit_price=D("120.00"))
    result = run(date(2025, 1, 21))
    assert (result.invoices_count, result.credit_notes_count) == (0, 1)
    note = CreditNote.objects.get()
    # credit 8 × 20.00 × 11/31 = 56.77, less the new price 8 × 10.00 × 11/31 = 28.39
    assert [(ln.net_amount, ln.tax_amount, ln.invoice_line_id is not None) for ln in note.lines.order_by("position")] == [
        (D("56.77"), D("11.35"), True), (D("-28.39"), D("-5.68"), False),
    ]
    assert (note.status, note.kind, note.subtotal_amount, note.total_amount) == ("posted", "amendment", D("28.38"), D("34.05"))
    assert note.invoice == InvoiceLine.objects.get(period_start=date(2025, 1, 1)).invoice


def test_netting_off_keeps_an_invoice_and_a_credit_note(seats, catalog):
    rule = catalog.rule()
    rule.net_amendments = False
    rule.save(update_fields=["net_amendments"])
    amend(seats, date(2025, 1, 21), type=AmendmentType.CHANGE_PRICE, effective_date=date(2025, 1, 21), unit_price=D("360.00"))
    result = run(date(2025, 1, 21))
    assert (result.invoices_count, result.credit_notes_count) == (1, 1)
    assert [ln.net_amount for ln in Invoice.objects.get(invoice_date=date(2025, 1, 21)).lines.all()] == [D("85.16")]
    assert [ln.net_amount for ln in CreditNoteLine.objects.all()] == [D("56.77")]


def test_a_decrease_after_an_increase_in_the_same_period_credits_the_added_seats(seats):
    amend(seats, date(2025, 1, 11), type=AmendmentType.ADD_QUANTITY, effective_date=date(2025, 1, 11), quantity=D("4"))
    run(date(2025, 1, 11))  # +4 × 20.00 × 21/31 = 54.19
    amend(seats, date(2025, 1, 21), type=AmendmentType.REDUCE_QUANTITY, effective_date=date(2025, 1, 21), quantity=D("3"))
    run(date(2025, 1, 21))
    note = CreditNote.objects.get()
    added = InvoiceLine.objects.get(period_start=date(2025, 1, 11))
    assert [(ln.quantity, ln.factor_display, ln.net_amount, ln.invoice_line_id) for ln in note.lines.all()] == [
        (D("3"), "11/31 = 0.354839", D("21.29"), added.pk),
    ]
    run(date(2025, 2, 1))
    february = Invoice.objects.get(invoice_date=date(2025, 2, 1))
    assert [(ln.quantity, ln.net_amount) for ln in february.lines.order_by("position")] == [(D("8"), D("160.00")), (D("1"), D("20.00"))]


def test_a_full_credit_of_a_netted_invoice_credits_its_total(seats):
    amend(seats, date(2025, 1, 21), type=AmendmentType.CHANGE_PRICE, effective_date=date(2025, 1, 21), unit_price=D("360.00"))
    run(date(2025, 1, 21))
    invoice = Invoice.objects.get(invoice_date=date(2025, 1, 21))
    assert invoice.total_amount == D("34.07")  # (85.16 − 56.77) × 1.2
    note = services.credit_note_create(invoice=invoice, lines=None, reason="Wrong price", actor=None)
    assert (note.subtotal_amount, note.total_amount) == (invoice.subtotal_amount, invoice.total_amount)


def test_cancel_and_rebill_of_a_netted_invoice_bills_the_same_netted_lines_again(seats):
    amend(seats, date(2025, 1, 21), type=AmendmentType.CHANGE_PRICE, effective_date=date(2025, 1, 21), unit_price=D("360.00"))
    run(date(2025, 1, 21))
    invoice = Invoice.objects.get(invoice_date=date(2025, 1, 21))
    note, (new,) = services.invoice_cancel_and_rebill(invoice=invoice, actor=None, today=date(2025, 1, 22))
    assert (note.kind, note.total_amount) == ("rebill", D("34.07"))
    assert [(ln.net_amount, ln.corrects_id) for ln in new.lines.order_by("position")] == [
        (D("85.16"), None), (D("-56.77"), InvoiceLine.objects.get(period_start=date(2025, 1, 1), invoice__status="posted").pk),
    ]
    assert new.total_amount == D("34.07")
