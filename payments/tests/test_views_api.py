import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from payments import demo, services
from payments.models import Allocation, DunningStep, Payment, StatementImport
from payments.selectors import invoice_balance
from payments.tests.factories import AccountFactory, posted_invoice

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def test_record_form_auto_allocates_and_shows_the_detail(finance_client):
    account = AccountFactory()
    invoice = posted_invoice(account, ["120.00"], invoice_date=dt.date(2026, 5, 1))
    response = finance_client.post(reverse("payments:create"), {
        "account": account.pk, "amount": "150.00", "currency": "EUR", "received_date": "2026-06-29",
        "method": "bank_transfer", "reference": "VIR 42", "auto_allocate": "on"}, follow=True)
    assert "Payment recorded: €120.00 allocated, €30.00 unapplied." in response.content.decode()
    assert invoice_balance(invoice) == D("0.00")
    html = response.content.decode()
    assert 'data-figure="unapplied">€30.00<' in html


def test_form_keeps_input_and_shows_the_service_error(finance_client):
    account = AccountFactory()
    response = finance_client.post(reverse("payments:create"), {
        "account": account.pk, "amount": "10.001", "currency": "EUR", "received_date": "2026-06-29", "method": "check"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"amount": ["EUR amounts have at most 2 decimals."]}
    assert Payment.objects.count() == 0


def test_detail_allocate_unallocate_refund_buttons(finance_client):
    account = AccountFactory()
    invoice = posted_invoice(account, ["80.00"], invoice_date=dt.date(2026, 5, 1))
    payment = services.payment_record(account=account, amount=D("100.00"), currency="EUR", received_date=dt.date(2026, 6, 1),
                                      method="check", today=dt.date(2026, 6, 30))
    finance_client.post(reverse("payments:allocate", args=[payment.pk]), {"invoice": invoice.pk, "amount": "80.00"})
    assert invoice_balance(invoice) == D("0.00")
    finance_client.post(reverse("payments:unallocate", args=[payment.pk]), {"invoice": invoice.pk, "amount": "30"})
    assert invoice_balance(invoice) == D("30.00")
    # A refund needs a reason, then a confirmation that says what leaves; nothing is refunded before.
    response = finance_client.post(reverse("payments:refund", args=[payment.pk]), {"amount": "50.00"}, follow=True)
    assert "Say why the money is given back." in response.content.decode()
    page = finance_client.post(reverse("payments:refund", args=[payment.pk]), {"amount": "50.00", "reason": "Overpaid"}).content.decode()
    assert f"€50.00 is paid back to {account.name} (Check), from Payment {payment.pk}." in page
    assert "A refund is final: it cannot be cancelled or edited afterwards." in page
    payment.refresh_from_db()
    assert payment.refunded_amount == D("0")
    response = finance_client.post(reverse("payments:refund", args=[payment.pk]), {"amount": "60.00", "reason": "Overpaid", "confirm": "1"}, follow=True)
    assert "Only €50.00 of this payment is unapplied: unallocate it first to refund more." in response.content.decode()
    finance_client.post(reverse("payments:refund", args=[payment.pk]), {"amount": "50.00", "reason": "Overpaid", "confirm": "1"})
    payment.refresh_from_db()
    assert (payment.allocated_amount, payment.refunded_amount, payment.unapplied_amount) == (D("50.00"), D("50.00"), D("0.00"))


def test_sales_reads_but_cannot_write(sales_client):
    account = AccountFactory()
    assert sales_client.get(reverse("payments:index")).status_code == 200
    assert sales_client.post(reverse("payments:create"), {"account": account.pk}).status_code == 403


def test_list_filters_and_csv(finance_client):
    a, b = AccountFactory(name="Alpha"), AccountFactory(name="Beta")
    for account, amount in ((a, "10.00"), (b, "20.50")):
        services.payment_record(account=account, amount=D(amount), currency="EUR", received_date=dt.date(2026, 6, 1),
                                method="check", today=dt.date(2026, 6, 30))
    response = finance_client.get(reverse("payments:index"), {"q": "beta"})
    assert [p.account.name for p in response.context["page"].object_list] == ["Beta"]
    csv_text = b"".join(finance_client.get(reverse("payments:export"), {"sort": "amount"}).streaming_content).decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0] == "id,received_date,account_number,account,currency,amount,allocated,refunded,unapplied,method,source,reference"
    assert [line.split(",")[5] for line in lines[1:]] == ["10.00", "20.50"]


def test_list_query_count_does_not_grow(finance_client, django_assert_max_num_queries):
    for _ in range(20):
        services.payment_record(account=AccountFactory(), amount=D("5"), currency="EUR", received_date=dt.date(2026, 6, 1),
                                method="cash", today=dt.date(2026, 6, 30))
    with django_assert_max_num_queries(8):
        finance_client.get(reverse("payments:index"))


def test_reports_page_and_csv(finance_client):
    account = AccountFactory(name="Late Payer")
    posted_invoice(account, ["500.00"], invoice_date=dt.date(2026, 4, 2), due_date=dt.date(2026, 4, 15))
    posted_invoice(account, ["100.00"], invoice_date=dt.date(2026, 6, 20), due_date=dt.date(2026, 7, 20))
    response = finance_client.get(reverse("payments:reports"), {"currency": "EUR"})
    html = response.content.decode()
    assert response.status_code == 200 and "<svg" in html
    assert response.context["aging"]["totals"] == {"current": D("100.00"), "d1_30": D("0.00"), "d31_60": D("0.00"),
                                                   "d61_90": D("500.00"), "d90_plus": D("0.00")}
    trend = response.context["trend"]
    assert (trend[-1]["ar"], trend[-1]["sales_90"], trend[-1]["dso"]) == (D("600.00"), D("600.00"), D("90.0"))
    csv_text = b"".join(finance_client.get(reverse("payments:aging-export"), {"currency": "EUR"}).streaming_content).decode("utf-8-sig")
    assert csv_text.strip().splitlines()[1].endswith(",EUR,100.00,0.00,0.00,500.00,0.00,600.00,False")


def test_statement_pdf(finance_client):
    account = AccountFactory()
    posted_invoice(account, ["100.00"], invoice_date=dt.date(2026, 6, 1))
    response = finance_client.get(reverse("payments:statement-pdf", args=[account.pk]))
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")


def test_api_record_allocate_and_balance(finance_api):
    account = AccountFactory()
    invoice = posted_invoice(account, ["75.00"], invoice_date=dt.date(2026, 5, 1))
    response = finance_api.post("/api/v1/payments/", {"account": account.pk, "amount": "100.00", "currency": "EUR",
                                                      "received_date": "2026-06-01", "method": "card"}, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    response = finance_api.post(f"/api/v1/payments/{pk}/allocate/", {"invoice": invoice.pk, "amount": "80.00"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"amount": [f"Only €75.00 is open on invoice {invoice.number}."]}
    response = finance_api.post(f"/api/v1/payments/{pk}/auto-allocate/", format="json")
    assert [r["amount"] for r in response.json()] == ["75.00"]
    balance = finance_api.get(f"/api/v1/invoice-balances/{invoice.pk}/").json()
    assert (balance["balance_amount"], balance["payment_status"]) == ("0.00", "paid")


def test_api_statement_import_twice(finance_api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = b"date,amount,currency,reference,counterparty\n2026-06-01,10.00,EUR,x,y\n"
    first = finance_api.post("/api/v1/bank-statements/", {"file": SimpleUploadedFile("s.csv", content)}, format="multipart")
    again = finance_api.post("/api/v1/bank-statements/", {"file": SimpleUploadedFile("s.csv", content)}, format="multipart")
    assert (first.status_code, again.status_code, first.json()["id"]) == (201, 200, again.json()["id"])


def test_commands_and_demo_are_idempotent(finance_user):
    account = AccountFactory()
    services.payment_method_add(account=account, token="tok_visa", is_autopay=True)
    posted_invoice(account, ["42.00"], invoice_date=dt.date(2026, 5, 1), due_date=dt.date(2026, 5, 31))
    call_command("run_payment_run", "--date", "2026-06-30", "--scheduled", stdout=open("/dev/null", "w"))
    call_command("run_payment_run", "--date", "2026-06-30", "--scheduled", stdout=open("/dev/null", "w"))
    assert Payment.objects.count() == 1
    call_command("run_dunning", "--date", "2026-06-30", stdout=open("/dev/null", "w"))
    demo.seed()
    demo.seed()
    assert (DunningStep.objects.count(), StatementImport.objects.count()) == (4, 1)


def test_api_posting_a_credit_note_against_an_invoice_applies_it_once(finance_api):
    account = AccountFactory()
    invoice = posted_invoice(account, ["120.00"], invoice_date=dt.date(2026, 5, 1))
    line = invoice.lines.get()
    draft = finance_api.post("/api/v1/credit-notes/", {"invoice": invoice.pk, "reason": "Goodwill",
                                                      "lines": {str(line.pk): "20.00"}}, format="json")
    assert (draft.status_code, draft.json()["total_amount"], draft.json()["open_amount"]) == (201, "20.00", "0.00")
    posted = finance_api.post(f"/api/v1/credit-notes/{draft.json()['id']}/post/", format="json")
    assert (posted.status_code, posted.json()["status"], posted.json()["open_amount"]) == (200, "posted", "0.00")
    body = finance_api.get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert (body["open_amount"], body["payment_status"]) == ("100.00", "partially_paid")
    rows = finance_api.get(f"/api/v1/allocations/?credit_note={draft.json()['id']}").json()["results"]
    assert [(r["invoice"], r["amount"], r["allocated_date"]) for r in rows] == [(invoice.pk, "20.00", "2026-06-30")]
    # Taken back on its balance, the credit note is open credit in its own representation.
    services.credit_note_unallocate(credit_note=Allocation.objects.get().credit_note, invoice=invoice, today=dt.date(2026, 6, 30))
    assert finance_api.get(f"/api/v1/credit-notes/{draft.json()['id']}/").json()["open_amount"] == "20.00"
    assert finance_api.get(f"/api/v1/invoices/{invoice.pk}/").json()["payment_status"] == "unpaid"
