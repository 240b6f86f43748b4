"""Pages and API: what finance and sales see and may do; exact messages; query counts."""

import csv
import datetime as dt
import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from invoicing import services
from invoicing.models import Invoice, InvoiceRun, InvoiceSchedule, UsageRecord
from invoicing.tests.factories import AccountFactory, activate

pytestmark = pytest.mark.django_db


def billed(target=date(2025, 1, 15), auto_post=True):
    return services.invoice_run_execute(run=services.invoice_run_create(actor=None, target_date=target, auto_post=auto_post, start=False))


def test_invoice_list_filters_sorts_and_exports(finance_client, contract, django_assert_max_num_queries):
    run = billed()
    with django_assert_max_num_queries(12):
        response = finance_client.get(reverse("invoicing:index"), {"status": "posted", "sort": "-total"})
    assert response.status_code == 200
    assert "F000001" in response.content.decode()
    assert "F000001" not in finance_client.get(reverse("invoicing:index"), {"status": "draft"}).content.decode()
    csv = b"".join(finance_client.get(reverse("invoicing:export"), {"status": "posted"}).streaming_content).decode("utf-8-sig")
    assert csv.splitlines()[1].startswith("F000001,posted,ACC-T")
    # A run's posted invoice is open for its whole total; long past its due date, it is overdue.
    assert csv.splitlines()[1].endswith(f",2025-01-15,2025-02-14,240.00,48.00,288.00,{run.pk},288.00,overdue")


def test_invoice_detail_shows_lines_with_inclusive_last_day_and_factor(finance_client, contract):
    billed()
    invoice = Invoice.objects.get()
    page = finance_client.get(reverse("invoicing:detail", args=[invoice.pk])).content.decode()
    assert "01/15/2025 – 02/14/2025" in page
    assert "31/31 = 1.000000" in page
    assert "€288.00" in page


def test_sales_reads_invoices_but_cannot_post(sales_client, contract):
    billed(auto_post=False)
    invoice = Invoice.objects.get()
    assert sales_client.get(reverse("invoicing:detail", args=[invoice.pk])).status_code == 200
    assert sales_client.post(reverse("invoicing:post", args=[invoice.pk])).status_code == 403
    assert Invoice.objects.get().status == "draft"


def test_finance_posts_a_draft_from_its_page(finance_client, contract):
    billed(auto_post=False)
    invoice = Invoice.objects.get()
    response = finance_client.post(reverse("invoicing:post", args=[invoice.pk]), {"confirm": "1"}, follow=True)
    assert "Invoice F000001 posted." in response.content.decode()


def test_new_run_form_refuses_a_bad_billing_day_and_keeps_the_input(finance_client):
    response = finance_client.post(reverse("invoicing:run-create"), {"target_date": "2025-01-31", "billing_days": "1, 40"})
    page = response.content.decode()
    assert "Between 1 and 31." in page
    assert 'value="1, 40"' in page
    assert InvoiceRun.objects.count() == 0


def test_run_progress_partial_and_preview_write_nothing(finance_client, contract):
    page = finance_client.get(reverse("invoicing:preview"), {"target_date": "2025-02-20"}).content.decode()
    assert "Showing 1 of 1 accounts with something due." in page
    assert "€576.00" in page
    assert Invoice.objects.count() == 0
    run = billed(date(2025, 2, 20))
    progress = finance_client.get(reverse("invoicing:run-progress", args=[run.pk])).content.decode()
    assert "100 %" in progress and "hx-trigger" not in progress


def test_why_not_billed_explains_each_entry(finance_client, contract):
    billed(date(2025, 1, 15))
    sub = contract.subscriptions.get()
    with time_machine.travel(dt.datetime(2025, 1, 20, 12, tzinfo=dt.UTC)):
        page = finance_client.get(reverse("invoicing:why"), {"subscription": sub.pk}).content.decode()
    assert "Billed on F000001." in page
    assert "Not due yet: it is billed by the first run with a target date on or after 2025-02-15." in page


def test_schedule_form_needs_a_weekday_for_weekly_runs(finance_client):
    response = finance_client.post(reverse("invoicing:schedule-create"), {"name": "Weekly", "frequency": "weekly",
                                                                          "target_offset_days": 0, "invoice_offset_days": 0})
    assert "A weekly schedule needs a weekday." in response.content.decode()
    finance_client.post(reverse("invoicing:schedule-create"), {"name": "Weekly", "frequency": "weekly", "weekday": 0,
                                                               "target_offset_days": 0, "invoice_offset_days": 0, "active": "on"})
    assert InvoiceSchedule.objects.get().next_run_date.weekday() == 0


def test_usage_csv_upload_imports_good_rows_counts_duplicates_and_lists_bad_rows(finance_client, catalog):
    calls = catalog.product("api-calls", price="0.01", charge_type="usage", billing_type="arrears", frequency=1)
    sub = activate(catalog=catalog, products=[(calls, "1")], account=AccountFactory()).subscriptions.get()
    content = (
        "subscription,quantity,timestamp,idempotency_key\n"
        f"{sub.pk},100,2025-01-10T10:00:00+01:00,k1\n"
        f"{sub.pk},100,2025-01-10T10:00:00+01:00,k1\n"
        f"{sub.pk},abc,2025-01-11T10:00:00+01:00,k2\n"
        f"999999,5,2025-01-11T10:00:00+01:00,k3\n"
        f"{sub.pk},50,2025-01-12,k4\n"
    )
    upload = io.BytesIO(content.encode())
    upload.name = "usage.csv"
    page = finance_client.post(reverse("invoicing:usage"), {"file": upload}).content.decode()
    assert UsageRecord.objects.count() == 2
    assert '<div class="value" id="usage-imported">2</div>' in page
    assert '<div class="value" id="usage-duplicates">1</div>' in page
    assert "<td>4</td><td>“abc” is not a quantity.</td>" in page
    assert "<td>5</td><td>Subscription 999999 does not exist.</td>" in page


def test_api_usage_refuses_more_than_ten_thousand_records(finance_api):
    response = finance_api.post("/api/v1/usage/", {"records": [{}] * 10_001}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "At most 10,000 records per call; this one has 10,001. Split it into several calls."


def test_api_usage_then_run_rates_the_period_total(finance_api, catalog):
    calls = catalog.product("api-calls", price="0.015", charge_type="usage", billing_type="arrears", frequency=1)
    sub = activate(catalog=catalog, products=[(calls, "1")], account=AccountFactory()).subscriptions.get()
    records = [{"subscription": sub.pk, "quantity": "333", "timestamp": f"2025-01-{d:02d}T09:00:00Z", "idempotency_key": f"d{d}"} for d in (3, 4, 5)]
    records.append({"subscription": sub.pk, "quantity": "1", "timestamp": "2025-01-03T09:00:00Z", "idempotency_key": "d3"})
    body = finance_api.post("/api/v1/usage/", {"records": records}, format="json").json()
    assert (body["imported"], body["duplicates"], body["rejected"]) == (3, 1, 0)
    listing = finance_api.get("/api/v1/usage-records/", {"subscription": sub.pk}).json()
    assert [(r["idempotency_key"], r["quantity"], r["business_date"], r["rated"]) for r in listing["results"]] == [
        ("d5", "333", "2025-01-05", False), ("d4", "333", "2025-01-04", False), ("d3", "333", "2025-01-03", False)
    ]
    billed(date(2025, 2, 1))
    assert {r["rated"] for r in finance_api.get("/api/v1/usage-records/").json()["results"]} == {True}
    line = Invoice.objects.get().lines.get()
    # 999 units × 0.015 = 14.985 → 14.99, rated once on the period's total.
    assert (line.source, line.quantity, line.net_amount, line.tax_amount) == ("usage", Decimal("999"), Decimal("14.99"), Decimal("3.00"))


def test_api_posted_invoices_cannot_be_changed_and_posting_twice_is_a_conflict(finance_api, contract):
    billed()
    invoice = Invoice.objects.get()
    assert finance_api.patch(f"/api/v1/invoices/{invoice.pk}/", {"total_amount": "1"}, format="json").status_code == 405
    assert finance_api.delete(f"/api/v1/invoices/{invoice.pk}/").status_code == 405
    response = finance_api.post(f"/api/v1/invoices/{invoice.pk}/post/")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "Only a draft invoice can be posted; F000001 is posted."


def test_api_runs_and_credit_notes(finance_api, contract):
    response = finance_api.post("/api/v1/invoice-runs/", {"target_date": "2025-01-15", "auto_post": True}, format="json")
    assert response.status_code == 201
    services.invoice_run_execute(run=InvoiceRun.objects.get(pk=response.json()["id"]))
    progress = finance_api.get(f"/api/v1/invoice-runs/{response.json()['id']}/").json()["progress"]
    assert (progress["percent"], progress["invoices_count"], progress["totals"]) == (100, 1, {"EUR": "288.00"})
    invoice = Invoice.objects.get()
    line = invoice.lines.get()
    note = finance_api.post("/api/v1/credit-notes/", {"invoice": invoice.pk, "reason": "Discount", "lines": {str(line.pk): "10.00"}}, format="json")
    assert note.status_code == 201 and note.json()["total_amount"] == "12.00"
    posted = finance_api.post(f"/api/v1/credit-notes/{note.json()['id']}/post/").json()
    assert posted["number"] == "AV000001"


def test_admin_shows_posted_invoices_read_only(client, admin_user, contract):
    billed()
    client.force_login(admin_user)
    invoice = Invoice.objects.get()
    page = client.get(reverse("admin:invoicing_invoice_change", args=[invoice.pk])).content.decode()
    assert 'name="_save"' not in page
    assert client.post(reverse("admin:invoicing_invoice_delete", args=[invoice.pk]), {"post": "yes"}).status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_account_tab_and_dashboard_cards(finance_client, contract):
    billed(auto_post=False)
    page = finance_client.get(reverse("customers:detail", args=[contract.account_id]) + "?tab=invoices").content.decode()
    assert 'id="account-invoices"' in page and "Draft invoice" in page
    home = finance_client.get(reverse("home")).content.decode()
    assert "Draft invoices to post" in home


def test_credit_notes_export_as_csv(finance_client, contract):
    billed()
    invoice = Invoice.objects.get()
    line = invoice.lines.get()
    note = services.credit_note_create(invoice=invoice, lines={line.pk: "10.00"}, reason="Goodwill", actor=None)
    services.credit_note_post(credit_note=note, actor=None, today=date(2025, 1, 20))
    response = finance_client.get(reverse("invoicing:credit-notes-export"), {"status": "posted"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["number", "status", "kind", "account_number", "account", "invoice", "legal_entity", "currency",
                       "credit_date", "subtotal", "tax", "total", "reason"]
    assert rows[1][:3] + rows[1][5:] == ["AV000001", "posted", "partial", invoice.number, invoice.legal_entity.name, "EUR",
                                          "2025-01-20", "10.00", "2.00", "12.00", "Goodwill"]
