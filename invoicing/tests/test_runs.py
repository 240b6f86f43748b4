"""Invoice runs on the real schedule (contracts activated by their service), exact amounts."""

from datetime import date
from decimal import Decimal

import pytest

from billing_site.errors import Immutable, InvalidTransition
from contracts.models import ScheduleEntry
from invoicing import services
from invoicing.models import CreditNote, Invoice, InvoiceLine, InvoiceRun
from invoicing.tests.factories import AccountFactory, activate

pytestmark = pytest.mark.django_db


def run(target, **kwargs):
    kwargs.setdefault("auto_post", True)
    return services.invoice_run_execute(run=services.invoice_run_create(actor=None, target_date=target, start=False, **kwargs))


def lines_of(invoice):
    return [
        (ln.period_start, ln.period_end, ln.quantity, ln.unit_price, ln.factor_display, ln.net_amount, ln.tax_amount, ln.total_amount, ln.source)
        for ln in invoice.lines.order_by("position")
    ]


def test_a_run_bills_the_due_periods_with_exact_lines_and_tax(contract):
    result = run(date(2025, 2, 20), invoice_date=date(2025, 2, 21))
    assert (result.status, result.accounts_done, result.invoices_count, result.lines_count) == ("completed", 1, 1, 2)
    assert result.totals == {"EUR": "576.00"}
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.status, invoice.invoice_date, invoice.due_date) == ("F000001", "posted", date(2025, 2, 21), date(2025, 3, 23))
    assert (invoice.subtotal_amount, invoice.tax_amount, invoice.total_amount) == (Decimal("480"), Decimal("96"), Decimal("576"))
    assert lines_of(invoice) == [
        (date(2025, 1, 15), date(2025, 2, 15), Decimal("2"), Decimal("120"), "31/31 = 1.000000", Decimal("240"), Decimal("48"), Decimal("288"), "subscription"),
        (date(2025, 2, 15), date(2025, 3, 15), Decimal("2"), Decimal("120"), "28/28 = 1.000000", Decimal("240"), Decimal("48"), Decimal("288"), "subscription"),
    ]
    assert invoice.snapshot["account"]["name"] == "Maison Verte"
    assert invoice.snapshot["legal_entity"]["name"] == "Recur SAS"


def test_rerunning_bills_nothing_twice(contract):
    run(date(2025, 2, 20))
    again = run(date(2025, 2, 20))
    assert (again.status, again.accounts_total, again.invoices_count) == ("completed", 0, 0)
    assert InvoiceLine.objects.count() == 2
    later = run(date(2025, 3, 15))
    assert (later.invoices_count, later.lines_count, later.totals) == (1, 1, {"EUR": "288.00"})


def test_billing_day_rule_prorates_the_first_period(catalog, account):
    product = catalog.product("support", price="1240.00", frequency=1, boundary="billing_day")
    activate(catalog=catalog, products=[(product, "1")], account=account, start=date(2025, 1, 20))
    run(date(2025, 1, 20))
    line = InvoiceLine.objects.get()
    # 12 days of January's 31-day period (20 Jan → 1 Feb) of 1240/12 = 103.333333 a month.
    assert (line.period_start, line.period_end, line.factor_display, line.net_amount) == (
        date(2025, 1, 20), date(2025, 2, 1), "12/31 = 0.387097", Decimal("40.00")
    )


def test_exempt_accounts_pay_no_tax_and_foreign_accounts_get_their_rate(catalog, monthly):
    exempt = AccountFactory(tax_exempt=True)
    foreign = AccountFactory(country="DE")
    activate(catalog=catalog, products=[(monthly, "1")], account=exempt)
    activate(catalog=catalog, products=[(monthly, "1")], account=foreign)
    run(date(2025, 1, 1))
    taxes = {i.account_id: (i.subtotal_amount, i.tax_amount) for i in Invoice.objects.all()}
    assert taxes == {exempt.pk: (Decimal("120"), Decimal("0")), foreign.pk: (Decimal("120"), Decimal("0"))}
    assert InvoiceLine.objects.get(invoice__account=foreign).tax_label == "VAT 0%"


def test_invoices_are_grouped_per_payment_terms_and_per_contract_when_the_rule_says_so(catalog, monthly, account):
    activate(catalog=catalog, products=[(monthly, "1")], account=account, start=date(2025, 1, 1))
    activate(catalog=catalog, products=[(monthly, "1")], account=account, start=date(2025, 1, 1))
    activate(catalog=catalog, products=[(monthly, "1")], account=account, start=date(2025, 1, 1), payment_terms_days=45)
    rule = catalog.rule("calendar")
    rule.invoice_grouping = "contract"
    rule.save()
    per_contract = catalog.product("audit", price="600.00", frequency=1, boundary="calendar")
    c4 = activate(catalog=catalog, products=[(per_contract, "1")], account=account, start=date(2025, 1, 1))
    c5 = activate(catalog=catalog, products=[(per_contract, "1")], account=account, start=date(2025, 1, 1))
    run(date(2025, 1, 1))
    groups = sorted((i.payment_terms_days, i.contract_id or 0, i.lines.count()) for i in Invoice.objects.all())
    assert groups == [(30, 0, 2), (30, c4.pk, 1), (30, c5.pk, 1), (45, 0, 1)]


def test_posted_numbers_are_consecutive_per_legal_entity(catalog, monthly):
    for _ in range(3):
        activate(catalog=catalog, products=[(monthly, "1")], account=AccountFactory())
    run(date(2025, 1, 1))
    assert sorted(Invoice.objects.values_list("number", flat=True)) == ["F000001", "F000002", "F000003"]


def test_drafts_are_posted_by_hand_and_posting_twice_is_refused(contract):
    run(date(2025, 1, 15), auto_post=False)
    draft = Invoice.objects.get()
    assert (draft.status, draft.number) == ("draft", None)
    posted = services.invoice_post(invoice=draft, actor=None, today=date(2025, 1, 16))
    assert (posted.number, posted.invoice_date, posted.due_date, posted.total_amount) == (
        "F000001", date(2025, 1, 16), date(2025, 2, 15), Decimal("288.00")
    )
    with pytest.raises(InvalidTransition) as err:
        services.invoice_post(invoice=posted, actor=None)
    assert str(err.value) == "Only a draft invoice can be posted; F000001 is posted."


def test_posted_invoices_cannot_be_discarded_and_drafts_give_their_periods_back(contract):
    run(date(2025, 1, 15), auto_post=False)
    draft = Invoice.objects.get()
    entry_ids = services.invoice_discard(invoice=draft, actor=None)
    assert ScheduleEntry.objects.get(pk=entry_ids[0]).status == "pending"
    run(date(2025, 1, 15))
    with pytest.raises(Immutable) as err:
        services.invoice_discard(invoice=Invoice.objects.get(), actor=None)
    assert str(err.value) == "F000001 is posted and cannot be changed; correct it with a credit note."


def test_an_account_that_cannot_be_billed_is_reported_with_its_reason(contract, catalog, monthly):
    other = activate(catalog=catalog, products=[(monthly, "1")], account=AccountFactory(), start=date(2025, 1, 15))
    ScheduleEntry.objects.filter(contract=other).update(amount=Decimal("10.005"))
    result = run(date(2025, 1, 15))
    assert (result.status, result.accounts_failed, result.invoices_count) == ("completed_with_errors", 1, 1)
    error = result.errors.get()
    assert error.account_id == other.account_id
    assert error.message.endswith("has an amount that is not rounded to EUR.")
    assert ScheduleEntry.objects.filter(contract=other, status="pending").count() == 12


def test_partial_credit_note_has_its_own_series_and_is_applied(contract):
    run(date(2025, 1, 15))
    invoice = Invoice.objects.get()
    line = invoice.lines.get()
    note = services.credit_note_create(invoice=invoice, lines={line.pk: "100.00"}, reason="Goodwill", actor=None)
    assert (note.status, note.subtotal_amount, note.tax_amount, note.total_amount) == ("draft", Decimal("100"), Decimal("20"), Decimal("120"))
    note = services.credit_note_post(credit_note=note, actor=None, today=date(2025, 1, 20))
    assert (note.number, note.credit_date) == ("AV000001", date(2025, 1, 20))
    # Applied to its invoice on posting (288.00 − 120.00).
    invoice.refresh_from_db()
    assert (invoice.total_amount, invoice.open_amount, invoice.payment_status) == (Decimal("288"), Decimal("168"), "partially_paid")
    with pytest.raises(Exception) as err:
        services.credit_note_create(invoice=invoice, lines={line.pk: "140.01"}, reason="Too much", actor=None)
    assert err.value.fields == {f"line_{line.pk}": ["At most €140.00 can still be credited on this line."]}
    rest = services.credit_note_create(invoice=invoice, lines=None, reason="Rest", actor=None)
    assert (rest.kind, rest.subtotal_amount, rest.tax_amount) == ("full", Decimal("140"), Decimal("28"))


def test_cancel_and_rebill_credits_everything_and_bills_the_same_periods_again(contract):
    run(date(2025, 2, 20))
    invoice = Invoice.objects.get()
    note, new = services.invoice_cancel_and_rebill(invoice=invoice, actor=None, today=date(2025, 2, 25))
    invoice.refresh_from_db()
    assert invoice.status == "cancelled"
    assert (note.kind, note.number, note.total_amount) == ("rebill", "AV000001", Decimal("576.00"))
    assert [(d.status, d.rebill_of_id, d.total_amount) for d in new] == [("draft", invoice.pk, Decimal("576.00"))]
    assert list(invoice.lines.values_list("billing_key", flat=True)) == [None, None]
    assert sorted(new[0].lines.values_list("billing_key", flat=True)) == sorted(invoice.lines.values_list("schedule_entry_id", flat=True))
    posted = services.invoice_post(invoice=new[0], actor=None, today=date(2025, 2, 25))
    assert posted.number == "F000002"
    assert run(date(2025, 2, 20)).invoices_count == 0


def test_a_cancelled_run_stops_and_keeps_what_it_billed(catalog, monthly):
    for _ in range(3):
        activate(catalog=catalog, products=[(monthly, "1")], account=AccountFactory())
    created = services.invoice_run_create(actor=None, target_date=date(2025, 1, 1), start=False, chunk_size=1)
    services.invoice_run_prepare(run_id=created.pk)
    services.invoice_run_process_chunk(run_id=created.pk, index=0)
    services.invoice_run_cancel(run=created, actor=None)
    for index in (1, 2):
        services.invoice_run_process_chunk(run_id=created.pk, index=index)
    created.refresh_from_db()
    assert (created.status, created.invoices_count) == (InvoiceRun.Status.CANCELLED, 1)
    assert CreditNote.objects.count() == 0
