"""Bank matching on the workers: lines stored at upload, matched in batches with progress, resumable;
set-based candidate reads (numbers, names word for word, names containing the counterparty)."""

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from payments import services
from payments.models import Payment, StatementImport, StatementLine
from payments.selectors import invoice_balance
from payments.selectors.bank import name_probes, reference_tokens
from payments.services import bank as bank_service
from payments.tasks import statement_match_task
from payments.tests.factories import AccountFactory, posted_invoice

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 10)
HEADER = b"date;amount;currency;reference;counterparty\n"


@pytest.fixture
def books(db):
    martin = AccountFactory(name="Boulangeries Martin", legal_name="Boulangeries Martin SAS")
    dufresne = AccountFactory(name="Atelier Dufresne")
    a = posted_invoice(martin, ["1234.56"], invoice_date=dt.date(2026, 5, 1), number="INV-000101")
    b = posted_invoice(martin, ["300.00"], invoice_date=dt.date(2026, 5, 2), number="INV-000102")
    c = posted_invoice(dufresne, ["99.00"], invoice_date=dt.date(2026, 5, 3), number="INV-000103")
    return martin, dufresne, a, b, c


def test_name_probes_are_the_counterparty_word_runs():
    assert name_probes("VIR SEPA Martin,  SAS") == {
        "vir sepa martin, sas", "vir sepa", "vir sepa martin,", "sepa", "sepa martin,", "sepa martin, sas",
        "martin,", "martin, sas", "vir sepa martin", "sepa martin", "martin", "martin sas", "vir sepa martin sas", "sepa martin sas"}
    assert name_probes("AB") == set()
    assert reference_tokens("Fact. inv-000101 + INV-000102/x") == {"FACT", "INV-000101", "INV-000102/X"}


def test_a_background_import_stores_waiting_lines_and_the_task_matches_them(books, django_capture_on_commit_callbacks):
    martin, dufresne, a, b, c = books
    content = HEADER + (
        b"2026-06-01;1 234,56;EUR;VIR inv-000101;X\n"             # number, any case
        b"2026-06-02;300,00;EUR;mai;VIR SEPA BOULANGERIES MARTIN\n"  # the account's name inside the counterparty
        b"2026-06-03;99,00;EUR;solde;DUFRESNE\n"                   # the counterparty inside the account's name
        b"2026-06-04;-5,00;EUR;frais;Banque\n"
    )
    with django_capture_on_commit_callbacks() as callbacks:
        statement, created = services.statement_import(file_name="juin.csv", content=content, today=TODAY, background=True)
    assert created and len(callbacks) == 1
    statement.refresh_from_db()
    assert (statement.status, statement.processed_count, statement.matched_count, statement.percent) == ("queued", 0, 0, 0)
    assert list(statement.lines.values_list("status", flat=True)) == ["pending"] * 4
    assert Payment.objects.count() == 0

    result = statement_match_task.apply(args=[statement.pk]).get()
    statement.refresh_from_db()
    assert result == {"statement": statement.pk, "status": "done", "matched": 3}
    assert (statement.status, statement.processed_count, statement.matched_count, statement.percent) == ("done", 4, 3, 100)
    rows = list(statement.lines.order_by("line_no").values_list("status", "account__name", "note"))
    assert rows == [("matched", "Boulangeries Martin", "Invoice number in the reference."),
                    ("matched", "Boulangeries Martin", "Amount and account."),
                    ("matched", "Atelier Dufresne", "Amount and account."),
                    ("ignored", None, "Outgoing transfer: not a receipt.")]
    assert [invoice_balance(i) for i in (a, b, c)] == [D("0.00"), D("0.00"), D("0.00")]
    assert sorted(Payment.objects.values_list("amount", "source")) == [(D("99.00"), "bank"), (D("300.00"), "bank"), (D("1234.56"), "bank")]
    # Run twice: nothing more happens.
    assert statement_match_task.apply(args=[statement.pk]).get() == {"statement": statement.pk, "status": "done", "matched": 3}
    assert Payment.objects.count() == 3


def test_two_lines_naming_one_invoice_in_one_batch_pay_it_once(books):
    _martin, _dufresne, a, _b, _c = books
    content = HEADER + b"2026-06-01;1234,56;EUR;INV-000101;X\n2026-06-02;1234,56;EUR;INV-000101 again;X\n"
    statement, _ = services.statement_import(file_name="twice.csv", content=content, today=TODAY)
    rows = list(statement.lines.order_by("line_no").values_list("status", "note"))
    assert rows == [("matched", "Invoice number in the reference."), ("ambiguous", "The invoice named in the reference is already paid.")]
    assert invoice_balance(a) == D("0.00")
    assert Payment.objects.get().amount == D("1234.56")


def test_several_accounts_with_the_name_leave_the_payer_unknown(books):
    AccountFactory(name="Atelier Dufresne Fils")
    content = HEADER + b"2026-06-03;99,00;EUR;solde;DUFRESNE\n"
    statement, _ = services.statement_import(file_name="two.csv", content=content, today=TODAY)
    line = statement.lines.get()
    assert (line.status, line.account_id, line.note) == ("ambiguous", None, "Open invoices have this amount, but the payer is unknown.")
    assert [i.number for i in line.candidate_invoices.all()] == ["INV-000103"]


def test_matching_resumes_after_a_failed_batch_with_its_progress(books, monkeypatch):
    _martin, _dufresne, a, b, c = books
    content = HEADER + (b"2026-06-01;1234,56;EUR;INV-000101;X\n2026-06-02;300,00;EUR;INV-000102;X\n"
                        b"2026-06-03;99,00;EUR;INV-000103;X\n")
    statement, _ = services.statement_import(file_name="resume.csv", content=content, today=TODAY, background=True)
    monkeypatch.setattr(bank_service, "BATCH", 2)
    real = bank_service._match_batch
    calls = []

    def second_batch_fails(**kwargs):
        calls.append([line.line_no for line in kwargs["lines"]])
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(bank_service, "_match_batch", second_batch_fails)
    with pytest.raises(RuntimeError):
        services.statement_match(statement_id=statement.pk, today=TODAY)
    statement.refresh_from_db()
    assert (statement.status, statement.processed_count, statement.error, statement.percent) == ("failed", 2, "database went away", 66)
    assert list(statement.lines.order_by("line_no").values_list("status", flat=True)) == ["matched", "matched", "pending"]
    statement = services.statement_match(statement_id=statement.pk, today=TODAY)
    assert calls == [[1, 2], [3], [3]]
    assert (statement.status, statement.processed_count, statement.matched_count, statement.error) == ("done", 3, 3, "")
    assert [invoice_balance(i) for i in (a, b, c)] == [D("0.00"), D("0.00"), D("0.00")]


def test_the_page_uploads_then_shows_progress_until_the_worker_is_done(books, finance_client):
    content = HEADER + b"2026-06-01;1234,56;EUR;INV-000101;X\n2026-06-02;5,00;EUR;?;Nobody\n"
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, tzinfo=dt.UTC), tick=False):
        response = finance_client.post(reverse("payments:bank"), {"file": SimpleUploadedFile("p.csv", content)}, follow=True)
        statement = StatementImport.objects.get()
        assert [str(m) for m in response.context["messages"]] == ["2 lines imported; they are being matched."]
        html = response.content.decode()
        assert 'id="statement-progress"' in html and f'hx-get="/payments/bank/{statement.pk}/progress/"' in html
        assert 'id="statement-percent">0 %<' in html and "Waiting for a worker" in html
        progress = finance_client.get(reverse("payments:bank-statement-progress", args=[statement.pk]), HTTP_HX_REQUEST="true")
        assert "HX-Refresh" not in progress and "0 of 2 lines matched so far." in progress.content.decode()
        statement_match_task.apply(args=[statement.pk])
        progress = finance_client.get(reverse("payments:bank-statement-progress", args=[statement.pk]), HTTP_HX_REQUEST="true")
        assert progress["HX-Refresh"] == "true" and "1 of 2 lines matched." in progress.content.decode()
        page = finance_client.get(reverse("payments:bank-statement", args=[statement.pk])).content.decode()
        assert 'id="statement-progress"' not in page and "1 of 2 lines matched." in page


@pytest.mark.django_db(transaction=True)
def test_the_page_says_what_was_matched_when_a_worker_ran_at_once(books, finance_client, celery_eager):
    # transaction=True: the upload's transaction really commits, and the (eager) task runs on commit.
    content = HEADER + b"2026-06-01;1234,56;EUR;INV-000101;X\n"
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, tzinfo=dt.UTC), tick=False):
        response = finance_client.post(reverse("payments:bank"), {"file": SimpleUploadedFile("e.csv", content)}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["1 lines imported, 1 matched."]
    assert StatementLine.objects.get().status == "matched"


def test_the_api_answers_queued_then_the_statement_shows_done(books, finance_api):
    content = HEADER + b"2026-06-01;1234,56;EUR;INV-000101;X\n2026-06-02;5,00;EUR;?;Nobody\n"
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, tzinfo=dt.UTC), tick=False):
        response = finance_api.post("/api/v1/bank-statements/", {"file": SimpleUploadedFile("a.csv", content)}, format="multipart")
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["status"], body["lines_count"], body["processed_count"], body["matched_count"]) == ("queued", 2, 0, 0)
        assert [line["status"] for line in body["lines"]] == ["pending", "pending"]
        statement_match_task.apply(args=[body["id"]])
        body = finance_api.get(f"/api/v1/bank-statements/{body['id']}/").json()
    assert (body["status"], body["processed_count"], body["matched_count"]) == ("done", 2, 1)
    assert [(line["status"], line["amount"]) for line in body["lines"]] == [("matched", "1234.56"), ("unmatched", "5.00")]


def test_matched_lines_write_the_rows_audit_and_events_of_a_recorded_payment(books):
    from billing_site.events import Event
    from billing_site.models import AuditLog
    from payments.selectors.balances import invoice_open_by_sum

    martin, _dufresne, a, b, _c = books
    # Pays INV-000101 and INV-000102 together, with 10.00 more: it stays unapplied on the payment.
    content = HEADER + b"2026-06-01;1544,56;EUR;INV-000101 INV-000102;X\n"
    statement, _ = services.statement_import(file_name="both.csv", content=content, today=TODAY)
    line = statement.lines.get()
    assert (line.status, line.note) == ("ambiguous", "Several invoices are named and the amount is not their open balance.")
    content = HEADER + b"2026-06-01;1534,56;EUR;INV-000101 INV-000102;X\n"
    statement, _ = services.statement_import(file_name="both-exact.csv", content=content, today=TODAY)
    line = statement.lines.get()
    payment = line.payment
    assert (line.status, line.note, line.account_id) == ("matched", "Invoice numbers in the reference.", martin.pk)
    assert (payment.amount, payment.allocated_amount, payment.unapplied_amount, payment.source, payment.method, payment.received_date) == (
        D("1534.56"), D("1534.56"), D("0.00"), "bank", "bank_transfer", dt.date(2026, 6, 1))
    assert sorted(payment.allocations.values_list("invoice__number", "amount", "allocated_date")) == [
        ("INV-000101", D("1234.56"), TODAY), ("INV-000102", D("300.00"), TODAY)]
    assert [invoice_balance(i) for i in (a, b)] == [D("0.00"), D("0.00")]
    assert [invoice_open_by_sum(i.pk) for i in (a, b)] == [D("0.00"), D("0.00")]
    assert sorted(type(i).objects.get(pk=i.pk).payment_status for i in (a, b)) == ["paid", "paid"]
    rows = sorted(AuditLog.objects.filter(actor_label="bank import").values_list("object_type", "object_id", "action", "message"))
    assert rows == sorted([
        ("payments.payment", str(payment.pk), "allocated", f"€1,234.56 of payment no. {payment.pk} to INV-000101"),
        ("payments.payment", str(payment.pk), "allocated", f"€300.00 of payment no. {payment.pk} to INV-000102"),
        ("payments.payment", str(payment.pk), "recorded", "€1,534.56 received by Bank transfer"),
        ("invoicing.invoice", str(a.pk), "payment_allocated", f"€1,234.56 of payment no. {payment.pk} to INV-000101"),
        ("invoicing.invoice", str(b.pk), "payment_allocated", f"€300.00 of payment no. {payment.pk} to INV-000102"),
    ])
    events = sorted(Event.objects.filter(type__in=["payment.received", "invoice.paid"]).values_list("type", "payload__id"))
    assert events == [("invoice.paid", a.pk), ("invoice.paid", b.pk), ("payment.received", payment.pk)]


def test_a_stopped_statement_is_sent_back_to_the_workers_from_its_page(books, finance_client, monkeypatch,
                                                                        django_capture_on_commit_callbacks):
    content = HEADER + b"2026-06-01;1234,56;EUR;INV-000101;X\n"
    statement, _ = services.statement_import(file_name="stop.csv", content=content, today=TODAY, background=True)
    monkeypatch.setattr(bank_service, "_match_batch", lambda **kwargs: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        services.statement_match(statement_id=statement.pk, today=TODAY)
    monkeypatch.undo()
    page = finance_client.get(reverse("payments:bank-statement", args=[statement.pk])).content.decode()
    assert "Matching stopped: division by zero." in page and 'id="statement-retry"' in page
    assert finance_client.get(reverse("payments:bank-statement-retry", args=[statement.pk])).status_code == 405
    with django_capture_on_commit_callbacks() as callbacks:
        response = finance_client.post(reverse("payments:bank-statement-retry", args=[statement.pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == ["The lines not matched yet are being matched again."]
    statement.refresh_from_db()
    assert (statement.status, statement.error, len(callbacks)) == ("queued", "", 1)
    response = finance_client.post(reverse("payments:bank-statement-retry", args=[statement.pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Only a statement whose matching stopped can be matched again."]
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, tzinfo=dt.UTC), tick=False):
        statement_match_task.apply(args=[statement.pk])
    statement.refresh_from_db()
    assert (statement.status, statement.matched_count) == ("done", 1)
