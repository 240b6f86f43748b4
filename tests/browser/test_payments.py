"""Payments in a real browser: record and auto-allocate, refund, bank import and review, credit hold."""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing_site import clock
from billing_site.roles import Role
from conftest import make_user
from payments import services
from payments.models import Payment
from payments.selectors import invoice_balance
from payments.tests.factories import AccountFactory, posted_invoice
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_record_a_payment_auto_allocate_and_refund(page):
    make_user("b-pay", Role.FINANCE)
    today = clock.today()
    account = AccountFactory(name="Boulangeries Martin")
    old = posted_invoice(account, ["300.00"], invoice_date=today - dt.timedelta(days=60), due_date=today - dt.timedelta(days=30))
    new = posted_invoice(account, ["200.00"], invoice_date=today - dt.timedelta(days=10), due_date=today + dt.timedelta(days=20))
    login(page, "b-pay", "pw-b-pay")
    page.click("nav.stages >> text=Payments")
    page.click("text=Record payment")
    page.select_option("#id_account", str(account.pk))
    page.fill("#id_amount", "550.00")
    page.select_option("#id_method", "bank_transfer")
    page.fill("#id_reference", "VIR MARTIN 0042")
    page.click("button:has-text('Record payment')")
    page.wait_for_selector("#payment-figures")
    assert "Payment recorded: €500.00 allocated, €50.00 unapplied." in page.text_content(".messages")
    assert page.text_content("[data-figure=unapplied]").strip() == "€50.00"
    assert [invoice_balance(i) for i in (old, new)] == [D("0.00"), D("0.00")]
    shot(page, "payment-detail-allocated")
    assert page.input_value("#id_refund_amount") == ""  # a refund amount is typed, never pre-filled
    page.fill("#id_refund_amount", "50.00")
    page.fill("#id_refund_reason", "Overpaid")
    page.click("#refund-form button")
    assert "€50.00 is paid back to Boulangeries Martin" in page.text_content("#confirm")
    page.click("#confirm-button")
    page.wait_for_selector(".messages")
    assert "€50.00 refunded." in page.text_content(".messages")
    assert page.text_content("[data-figure=unapplied]").strip() == "€0.00"
    assert page.text_content("[data-figure=refunded]").strip() == "€50.00"
    shot(page, "payment-detail-refunded")


def test_import_a_bank_file_and_resolve_an_unmatched_line(page, tmp_path, celery_eager):
    # celery_eager: the matching task runs in the web process as the upload commits, as a free worker would.
    make_user("b-bank", Role.FINANCE)
    today = clock.today()
    martin = AccountFactory(name="Boulangeries Martin", legal_name="Boulangeries Martin SAS")
    other = AccountFactory(name="Atelier Dufresne")
    invoice = posted_invoice(martin, ["1234.56"], invoice_date=today - dt.timedelta(days=20), number="INV-009001")
    late = posted_invoice(other, ["99.00"], invoice_date=today - dt.timedelta(days=20), number="INV-009002")
    path = tmp_path / "releve.csv"
    path.write_text(
        "date;amount;currency;reference;counterparty\n"
        f"{today.isoformat()};1 234,56;EUR;VIR FACT INV-009001;BOULANGERIES MARTIN SAS\n"
        f"{today.isoformat()};99,00;EUR;paiement;M. DUFRESNE PERSO\n", encoding="utf-8")
    login(page, "b-bank", "pw-b-bank")
    page.goto(page.base_url + "/payments/bank/")
    page.set_input_files("#id_file", str(path))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#statement-lines")
    assert "2 lines imported, 1 matched." in page.text_content(".messages")
    assert invoice_balance(invoice) == D("0.00")
    shot(page, "bank-statement")
    page.click("text=Review queue")
    card = page.locator(".review-line").first
    card.locator("input[name=candidate]").first.check()
    card.locator("button:has-text('Match')").click()
    page.wait_for_selector("#queue-empty")
    assert "Line 2 resolved." in page.text_content(".messages")
    assert invoice_balance(late) == D("0.00")
    # Importing the same file again creates nothing.
    page.goto(page.base_url + "/payments/bank/")
    page.set_input_files("#id_file", str(path))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#statement-lines")
    assert "already imported" in page.text_content(".messages")
    assert Payment.objects.count() == 2
    shot(page, "bank-review-done")


def test_a_bank_file_shows_its_matching_progress_until_the_worker_is_done(page, tmp_path):
    from payments.models import StatementImport
    from payments.tasks import statement_match_task

    make_user("b-prog", Role.FINANCE)
    today = clock.today()
    martin = AccountFactory(name="Boulangeries Martin", legal_name="Boulangeries Martin SAS")
    invoice = posted_invoice(martin, ["1234.56"], invoice_date=today - dt.timedelta(days=20), number="INV-009101")
    other = posted_invoice(martin, ["80.00"], invoice_date=today - dt.timedelta(days=10), number="INV-009102")
    path = tmp_path / "releve-juin.csv"
    path.write_text(
        "date;amount;currency;reference;counterparty\n"
        f"{today.isoformat()};1 234,56;EUR;VIR FACT INV-009101;X\n"
        f"{today.isoformat()};80,00;EUR;paiement;VIR SEPA BOULANGERIES MARTIN SAS\n"
        f"{today.isoformat()};12,00;EUR;?;Inconnu\n", encoding="utf-8")
    login(page, "b-prog", "pw-b-prog")
    page.goto(page.base_url + "/payments/bank/")
    page.set_input_files("#id_file", str(path))
    page.click("#upload-form button[type=submit]")
    # No worker has taken it yet: the page says so and polls.
    page.wait_for_selector("#statement-progress")
    assert "3 lines imported; they are being matched." in page.text_content(".messages")
    assert page.text_content("#statement-status").strip() == "Waiting for a worker"
    assert page.text_content("#statement-percent").strip() == "0 %"
    shot(page, "bank-statement-progress")
    # A worker matches the lines; the next poll reloads the page with the result.
    statement_match_task.apply(args=[StatementImport.objects.get().pk])
    page.wait_for_selector("#statement-progress", state="detached", timeout=15_000)
    assert page.text_content("#statement-lines tbody").count("Matched") == 2
    assert "2 of 3 lines matched." in page.text_content("main")
    assert [invoice_balance(i) for i in (invoice, other)] == [D("0.00"), D("0.00")]
    shot(page, "bank-statement-matched")


def test_an_overdue_account_goes_on_credit_hold_and_the_quote_page_warns(page):
    make_user("b-dun", Role.FINANCE)
    make_user("b-rep", Role.SALES)
    today = clock.today()
    account = AccountFactory(name="Hôtel des Arts", billing_emails="compta@hotel.test")
    posted_invoice(account, ["900.00"], invoice_date=today - dt.timedelta(days=75), due_date=today - dt.timedelta(days=45))
    for name, offset, action, template in [("Reminder", -3, "email", "reminder"), ("First notice", 7, "email", "overdue"),
                                           ("Final notice", 30, "email_credit_hold", "final_notice")]:
        services.dunning_step_save(actor=None, data={"name": name, "offset_days": offset, "action": action, "template": template})
    login(page, "b-dun", "pw-b-dun")
    page.goto(page.base_url + "/payments/dunning/")
    page.click("#run-dunning")
    page.wait_for_selector(".messages")
    assert "Dunning done: 1 emails sent, 1 accounts put on credit hold." in page.text_content(".messages")
    assert "Final notice" in page.text_content("#dunning-events")
    shot(page, "dunning-credit-hold")
    page.goto(page.base_url + "/payments/reports/")
    assert "Credit hold" in page.text_content("#aging-table")
    shot(page, "receivables-report")
    page.context.clear_cookies()
    login(page, "b-rep", "pw-b-rep")
    page.goto(page.base_url + f"/quotes/new/?account={account.pk}")
    panel = page.locator("[data-testid=credit-panel]")
    assert "This account is on credit hold" in panel.locator("[data-code=credit_hold]").text_content()
    assert panel.locator("[data-figure=overdue_amount]").text_content().strip() == "€900.00"
    shot(page, "quote-credit-hold-warning")
