"""The books from posted documents: balanced entries, recognition, credit notes, close, exactly once."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum

from accounting.models import FinancePeriod, JournalEntry, JournalLine, RevenueLine
from accounting.services import books_process, period_close, period_reopen, period_reopen_preview
from accounting.services.journal import line_rule
from billing_site.errors import InvalidTransition
from catalog.models import Product
from invoicing.models import InvoiceLine, LineSource
from invoicing.services.documents import credit_note_create, credit_note_post, invoice_cancel_and_rebill
from payments import services as payments

from .factories import AccountFactory, balance, legal_entity, posted_invoice

pytestmark = pytest.mark.django_db
JAN1 = dt.date(2025, 1, 1)
YEAR_END = dt.date(2026, 1, 1)


def period(name):
    return FinancePeriod.objects.get(legal_entity=legal_entity(), name=name)


def close_through(month: int, year: int = 2025):
    for m in range(1, month + 1):
        p = period(f"{year}-{m:02d}")
        if not p.is_closed:
            period_close(period=p, actor=None, today=dt.date(year, m, 28))


def assert_every_entry_balances():
    unbalanced = (
        JournalLine.objects.values("entry_id").annotate(d=Sum("debit"), c=Sum("credit")).filter(~Q(d=models_c()))
    )
    assert list(unbalanced) == []


def models_c():
    from django.db.models import F

    return F("c")


def assert_line_invariant(line: InvoiceLine, credited: D = D("0")):
    """Recognized + deferred = invoiced net − credited, at every period end."""
    rows = RevenueLine.objects.filter(invoice_line=line)
    total = rows.aggregate(s=Sum("amount"))["s"]
    assert total == line.net_amount - credited
    for p in FinancePeriod.objects.filter(legal_entity=legal_entity()):
        recognized = rows.filter(recognized_period__start_date__lte=p.start_date).aggregate(s=Sum("amount"))["s"] or D(0)
        deferred = rows.exclude(recognized_period__start_date__lte=p.start_date).aggregate(s=Sum("amount"))["s"] or D(0)
        assert recognized + deferred == line.net_amount - credited


def test_public_example_invoice_then_january_close():
    account = AccountFactory()
    invoice = posted_invoice(account, [("365.00", JAN1, YEAR_END, None)], invoice_date=JAN1)
    assert books_process(today=JAN1) == {"schedules": 0, "invoices": 1, "credit_notes": 0, "payments": 0, "refunds": 0}
    entry = JournalEntry.objects.get(kind=JournalEntry.Kind.INVOICE, invoice=invoice)
    lines = sorted((line.ledger_account.code, line.debit, line.credit) for line in entry.lines.all())
    assert lines == [("411", D("438.00"), D("0")), ("44571", D("0"), D("73.00")), ("487", D("0"), D("365.00"))]
    assert entry.lines.get(ledger_account__code="411").customer_id == account.pk
    rows = RevenueLine.objects.filter(invoice_line__invoice=invoice).order_by("period_start")
    assert [r.amount for r in rows][:3] == [D("31.00"), D("28.00"), D("31.00")]

    period_close(period=period("2025-01"), actor=None, today=dt.date(2025, 2, 1))
    assert balance("487") == D("-334.00")
    assert balance("706") == D("-31.00")
    assert period("2025-01").is_closed
    close_through(12)
    assert balance("487") == D("0.00")
    assert balance("706") == D("-365.00")
    assert_line_invariant(invoice.lines.get())
    assert_every_entry_balances()


def test_every_posted_document_gets_balanced_entries_once():
    account = AccountFactory()
    invoice = posted_invoice(account, [("100.00", JAN1, dt.date(2025, 4, 1), None), ("50.00", None, None, LineSource.ONE_TIME)],
                             invoice_date=JAN1)
    pay = payments.payment_record(account=account, amount=D("200.00"), currency="EUR", received_date=dt.date(2025, 1, 20),
                                  method="bank_transfer", today=dt.date(2025, 1, 20))
    payments.payment_refund(payment=pay, amount=D("20.00"), today=dt.date(2025, 1, 25), reason="Overpaid")
    result = books_process(today=dt.date(2025, 1, 31))
    assert result == {"schedules": 0, "invoices": 1, "credit_notes": 0, "payments": 1, "refunds": 1}
    assert books_process(today=dt.date(2025, 1, 31)) == {"schedules": 0, "invoices": 0, "credit_notes": 0, "payments": 0, "refunds": 0}
    assert JournalEntry.objects.values("kind").annotate(n=Count("id")).order_by("kind").count() == 3
    # The one-time line is revenue at once; the subscription is deferred.
    entry = JournalEntry.objects.get(invoice=invoice)
    assert sorted((line.ledger_account.code, line.debit, line.credit) for line in entry.lines.all()) == [
        ("411", D("180.00"), D("0")), ("44571", D("0"), D("30.00")), ("487", D("0"), D("100.00")), ("706", D("0"), D("50.00")),
    ]
    assert balance("512") == D("180.00")
    # Unapplied cash stays a credit on the customer's receivable: 180.00 billed, 200 paid, 20 refunded.
    assert balance("411", customer=account) == D("0.00")
    assert_every_entry_balances()


def test_credit_note_takes_back_deferred_first_then_recognized():
    account = AccountFactory()
    invoice = posted_invoice(account, [("365.00", JAN1, YEAR_END, None)], invoice_date=JAN1)
    books_process(today=JAN1)
    close_through(11)  # 334.00 recognized, 31.00 (December) still deferred
    line = invoice.lines.get()
    note = credit_note_create(invoice=invoice, lines={line.pk: D("100.00")}, reason="Goodwill", actor=None)
    note = credit_note_post(credit_note=note, actor=None, today=dt.date(2025, 12, 5))
    assert books_process(today=dt.date(2025, 12, 5))["credit_notes"] == 1
    entry = JournalEntry.objects.get(credit_note=note)
    assert sorted((x.ledger_account.code, x.debit, x.credit) for x in entry.lines.all()) == [
        ("411", D("0"), D("120.00")), ("44571", D("20.00"), D("0")), ("487", D("31.00"), D("0")), ("706", D("69.00"), D("0")),
    ]
    assert entry.period.name == "2025-12"
    close_through(12)
    assert balance("487") == D("0.00")
    assert balance("706") == D("-265.00")
    assert_line_invariant(line, credited=D("100.00"))
    assert_every_entry_balances()


def test_cancel_and_rebill_nets_out_exactly():
    account = AccountFactory()
    invoice = posted_invoice(account, [("365.00", JAN1, YEAR_END, None), ("19.99", None, None, LineSource.ONE_TIME)],
                             invoice_date=JAN1)
    books_process(today=JAN1)
    close_through(2)
    note, _new = invoice_cancel_and_rebill(invoice=invoice, actor=None, today=dt.date(2025, 3, 10))
    books_process(today=dt.date(2025, 3, 10))
    close_through(12)
    for code in ("411", "487", "706", "44571"):
        assert balance(code) == D("0.00"), code
    for line in invoice.lines.all():
        assert_line_invariant(line, credited=line.net_amount)
    assert JournalEntry.objects.get(credit_note=note).period.name == "2025-03"
    assert_every_entry_balances()


def test_late_document_lands_in_the_next_open_period():
    account = AccountFactory()
    posted_invoice(account, [("10.00", JAN1, dt.date(2025, 2, 1), None)], invoice_date=JAN1)
    books_process(today=JAN1)
    close_through(2)
    late = posted_invoice(account, [("31.00", JAN1, dt.date(2025, 2, 1), None)], invoice_date=dt.date(2025, 1, 31))
    books_process(today=dt.date(2025, 3, 2))
    entry = JournalEntry.objects.get(invoice=late)
    assert (entry.period.name, entry.entry_date, entry.piece_date) == ("2025-03", dt.date(2025, 3, 1), dt.date(2025, 1, 31))
    # January's revenue arrives late: recognized at once in March.
    assert sorted((x.ledger_account.code, x.debit, x.credit) for x in entry.lines.all()) == [
        ("411", D("37.20"), D("0")), ("44571", D("0"), D("6.20")), ("706", D("0"), D("31.00")),
    ]


def test_periods_close_in_order_and_reopen_is_admin_only_latest_first():
    account = AccountFactory()
    posted_invoice(account, [("10.00", JAN1, dt.date(2025, 2, 1), None)], invoice_date=JAN1)
    books_process(today=JAN1)
    with pytest.raises(InvalidTransition, match="Close 2025-01 first: periods close in order."):
        period_close(period=period("2025-02"), actor=None)
    close_through(2)
    finance = User.objects.create_user("fin")
    finance.groups.add(Group.objects.get_or_create(name="Finance")[0])
    with pytest.raises(PermissionDenied, match="Only an admin may reopen a finance period."):
        period_reopen(period=period("2025-02"), actor=finance, reason="Fix")
    admin = User.objects.create_superuser("root")
    assert period_reopen_preview(period=period("2025-01"))["later_closed"] == ["2025-02"]
    with pytest.raises(InvalidTransition, match="Reopen 2025-02 first: only the latest closed period can reopen."):
        period_reopen(period=period("2025-01"), actor=admin, reason="Fix")
    with pytest.raises(InvalidTransition, match=r"Say why the period is reopened \(1 to 300 characters\)."):
        period_reopen(period=period("2025-02"), actor=admin, reason=" ")
    reopened = period_reopen(period=period("2025-02"), actor=admin, reason="Late supplier credit")
    assert reopened.status == FinancePeriod.Status.OPEN


def test_rule_resolution_entry_then_product_then_charge_type():
    recurring = Product(pk=1, charge_type=Product.ChargeType.RECURRING, recognition_rule="")
    one_time = Product(pk=2, charge_type=Product.ChargeType.ONE_TIME, recognition_rule="")
    even = Product(pk=3, charge_type=Product.ChargeType.RECURRING, recognition_rule="monthly_even")
    overrides = {(7, 3): "monthly_prorated"}
    assert line_rule(source="subscription", product=recurring, price_book_id=7, overrides=overrides) == "daily"
    assert line_rule(source="one_time", product=one_time, price_book_id=7, overrides=overrides) == "at_date"
    assert line_rule(source="subscription", product=even, price_book_id=8, overrides=overrides) == "monthly_even"
    assert line_rule(source="subscription", product=even, price_book_id=7, overrides=overrides) == "monthly_prorated"
    assert line_rule(source="usage", product=None, price_book_id=None, overrides={}) == "usage"


@pytest.fixture
def pg():
    if connection.vendor != "postgresql":
        pytest.skip("the books' triggers are PostgreSQL's")


@pytest.mark.postgres
def test_closed_period_refuses_writes_even_in_raw_sql(pg):
    account = AccountFactory()
    posted_invoice(account, [("10.00", JAN1, dt.date(2025, 2, 1), None)], invoice_date=JAN1)
    books_process(today=JAN1)
    close_through(1)
    jan = period("2025-01")
    line = JournalLine.objects.filter(period=jan).first()
    statements = [
        ("UPDATE accounting_journalline SET label = 'x' WHERE id = %s", [line.pk]),
        ("DELETE FROM accounting_journalline WHERE id = %s", [line.pk]),
        ("INSERT INTO accounting_journalline (entry_id, period_id, legal_entity_id, ledger_account_id, label, debit, credit) "
         "VALUES (%s, %s, %s, %s, 'x', 0, 0)", [line.entry_id, jan.pk, jan.legal_entity_id, line.ledger_account_id]),
        ("UPDATE accounting_revenueline SET recognized_period_id = NULL WHERE recognized_period_id = %s", [jan.pk]),
    ]
    for sql, params in statements:
        with pytest.raises(Exception) as info, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
        assert "closed" in str(info.value) or "never edited" in str(info.value)


@pytest.mark.postgres
def test_an_unbalanced_entry_is_refused_by_the_database(pg):
    account = AccountFactory()
    posted_invoice(account, [("10.00", JAN1, dt.date(2025, 2, 1), None)], invoice_date=JAN1)
    books_process(today=JAN1)
    line = JournalLine.objects.first()
    with pytest.raises(Exception, match="does not balance"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounting_journalline (entry_id, period_id, legal_entity_id, ledger_account_id, label, debit, credit) "
            "VALUES (%s, %s, %s, %s, 'x', 1, 0)", [line.entry_id, line.period_id, line.legal_entity_id, line.ledger_account_id],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_document_of_an_earlier_year_gets_that_years_periods():
    account = AccountFactory()
    old = posted_invoice(account, [("12.00", dt.date(2024, 11, 1), dt.date(2024, 12, 1), None)], invoice_date=dt.date(2024, 11, 1))
    books_process(today=dt.date(2025, 6, 1))
    entry = JournalEntry.objects.get(invoice=old)
    assert (entry.period.name, entry.entry_date) == ("2024-11", dt.date(2024, 11, 1))


def test_an_entry_is_reversed_once_in_the_open_period_never_edited():
    from accounting.services import journal_entry_reverse

    account = AccountFactory()
    invoice = posted_invoice(account, [("10.00", JAN1, dt.date(2025, 2, 1), None)], invoice_date=JAN1)
    books_process(today=JAN1)
    close_through(1)
    entry = JournalEntry.objects.get(invoice=invoice)
    mirror = journal_entry_reverse(entry=entry, actor=None, today=dt.date(2025, 2, 3), reason="Posted to the wrong account")
    assert (mirror.period.name, mirror.entry_date, mirror.reverses_id) == ("2025-02", dt.date(2025, 2, 3), entry.pk)
    assert sorted((x.ledger_account.code, x.debit, x.credit) for x in mirror.lines.all()) == [
        ("411", D("0"), D("12.00")), ("44571", D("2.00"), D("0")), ("487", D("10.00"), D("0"))]
    with pytest.raises(InvalidTransition, match="This entry is already reversed."):
        journal_entry_reverse(entry=entry, actor=None, today=dt.date(2025, 2, 3))
    assert_every_entry_balances()


def test_an_entry_of_cents_that_sum_inexactly_as_floats_balances_and_a_millionth_off_does_not():
    """139.30 + 27.86 is 167.16000000000003 in floating point, which is how SQLite sums decimals: the
    close must still see the invoice's entry (Dr 167.16 / Cr 139.30 + 27.86) as balanced."""
    from accounting.services.close import period_check

    posted_invoice(AccountFactory(), [("139.30", JAN1, dt.date(2025, 2, 1), None)], invoice_date=JAN1)
    books_process(today=JAN1)
    entry = JournalEntry.objects.get(kind=JournalEntry.Kind.INVOICE)
    assert sorted((str(line.debit), str(line.credit)) for line in entry.lines.all()) == [
        ("0.000000", "139.300000"), ("0.000000", "27.860000"), ("167.160000", "0.000000")]
    check = period_check(period=period("2025-01"))
    assert (check.unbalanced_entries, check.ok) == (0, True)
    close_through(1)
    assert period("2025-01").is_closed

    # A real imbalance, however small, is still caught. PostgreSQL refuses the edit itself; where the
    # database has no such trigger (SQLite), the close's check is what stops it.
    posted_invoice(AccountFactory(), [("139.30", dt.date(2025, 2, 1), dt.date(2025, 3, 1), None)], invoice_date=dt.date(2025, 2, 1))
    books_process(today=dt.date(2025, 2, 1))
    february = JournalEntry.objects.get(kind=JournalEntry.Kind.INVOICE, period=period("2025-02"))
    line = february.lines.get(debit=D("167.16"))
    if connection.vendor == "postgresql":
        with pytest.raises(IntegrityError, match="Journal entries are never edited or deleted; post a reversal."), \
                transaction.atomic():
            JournalLine.objects.filter(pk=line.pk).update(debit=D("167.160001"))
        return
    JournalLine.objects.filter(pk=line.pk).update(debit=D("167.160001"))
    check = period_check(period=period("2025-02"))
    assert (check.unbalanced_entries, check.ok) == (1, False)
