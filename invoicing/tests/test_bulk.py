"""Bulk work: post all or chosen drafts, send or resend documents, a ZIP of PDFs; confirmations first."""

import io
import zipfile
from datetime import date

import pytest
from django.core import mail
from django.urls import reverse

from billing_site.errors import ValidationFailed
from invoicing import services
from invoicing.models import BulkJob, DocumentSend, Invoice

pytestmark = pytest.mark.django_db

@pytest.fixture
def run(contract):
    return services.invoice_run_execute(run=services.invoice_run_create(actor=None, target_date=date(2025, 1, 15), auto_post=False, start=False))

def test_posting_every_draft_of_a_run_counts_each_and_takes_numbers(run, finance_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    job = services.bulk_job_create(kind="post", run=run, actor=finance_user, start=False)
    assert (job.kind, job.total, job.status) == ("post", 1, "queued")
    job = services.bulk_job_process(job_id=job.pk)
    assert (job.status, job.position, job.succeeded, job.skipped, job.failed, job.percent) == ("done", 1, 1, 0, 0, 100)
    assert list(Invoice.objects.filter(run=run).values_list("number", "status", "posted_by")) == [("F000001", "posted", finance_user.pk)]
    # Run twice (a redelivered task): nothing more happens.
    again = services.bulk_job_process(job_id=job.pk)
    assert (again.position, again.succeeded) == (1, 1)
    with pytest.raises(ValidationFailed) as exc:
        services.bulk_job_create(kind="post", run=run, actor=finance_user)
    assert str(exc.value.message) == f"Run {run.pk} has no draft invoice left to post."

def test_a_bulk_post_refuses_posted_documents_and_too_many_ids(run, finance_user):
    invoice = Invoice.objects.get()
    services.invoice_post(invoice=invoice, actor=finance_user, today=date(2025, 1, 15))
    with pytest.raises(ValidationFailed) as exc:
        services.bulk_job_create(kind="post", ids=[invoice.pk], actor=finance_user)
    assert exc.value.fields == {"ids": ["Only drafts can be posted; some of the chosen documents are already posted."]}
    with pytest.raises(ValidationFailed) as exc:
        services.bulk_job_create(kind="send", ids=list(range(1, 10_002)), actor=finance_user)
    assert exc.value.fields == {"ids": ["At most 10,000 documents at once."]}
    with pytest.raises(ValidationFailed) as exc:
        services.bulk_job_create(kind="send", ids=["x"], actor=finance_user)
    assert exc.value.fields == {"ids": ["Document ids must be whole numbers."]}

def test_send_then_resend_logs_each_email(run, finance_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    invoice = Invoice.objects.get()
    services.invoice_post(invoice=invoice, actor=finance_user, today=date(2025, 1, 15))
    invoice.refresh_from_db()
    job = services.bulk_job_process(job_id=services.bulk_job_create(kind="send", ids=[invoice.pk], actor=finance_user, start=False).pk)
    assert (job.succeeded, job.skipped, job.failed) == (1, 0, 0)
    job = services.bulk_job_process(job_id=services.bulk_job_create(kind="send", ids=[invoice.pk], actor=finance_user, start=False).pk)
    assert (job.succeeded, job.skipped, job.failed) == (0, 1, 0)  # sent once already
    job = services.bulk_job_process(job_id=services.bulk_job_create(kind="send", ids=[invoice.pk], actor=finance_user, resend=True, start=False).pk)
    assert (job.succeeded, job.skipped, job.failed) == (1, 0, 0)
    assert len(mail.outbox) == 2
    assert list(DocumentSend.objects.order_by("id").values_list("invoice", "resend", "sent_by")) == [
        (invoice.pk, False, finance_user.pk), (invoice.pk, True, finance_user.pk)]
    assert set(DocumentSend.objects.values_list("recipients", flat=True)) == {", ".join(mail.outbox[0].to)}

def test_a_bulk_job_counts_failures_without_stopping(run, finance_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    invoice = Invoice.objects.get()
    # No billing email when it is posted (the posted invoice's snapshot keeps the account as it was).
    invoice.account.billing_emails = ""
    invoice.account.save()
    invoice.account.contacts.update(is_billing_contact=False)
    services.invoice_post(invoice=invoice, actor=finance_user, today=date(2025, 1, 15))
    job = services.bulk_job_process(job_id=services.bulk_job_create(kind="send", ids=[invoice.pk], actor=finance_user, start=False).pk)
    assert (job.succeeded, job.failed, job.errors) == (0, 1, [{"id": invoice.pk, "document": "F000001", "message": "No billing email on the account."}])

def test_the_zip_holds_one_pdf_per_chosen_invoice(run, finance_client):
    invoice = Invoice.objects.get()
    response = finance_client.post(reverse("invoicing:bulk"), {"action": "zip", "ids": [invoice.pk]})
    assert response.status_code == 200 and response.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == [f"draft-{invoice.pk}.pdf"]
    assert archive.read(f"draft-{invoice.pk}.pdf").startswith(b"%PDF")

def test_posting_from_the_list_asks_first_then_runs_a_job(run, finance_client, django_capture_on_commit_callbacks):
    invoice = Invoice.objects.get()
    page = finance_client.post(reverse("invoicing:bulk"), {"action": "post", "ids": [invoice.pk]}).content.decode()
    assert "1 draft of Recur SAS takes number F000001 forever." in page
    assert Invoice.objects.get().status == "draft" and not BulkJob.objects.exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = finance_client.post(reverse("invoicing:bulk"), {"action": "post", "ids": [invoice.pk], "confirm": "1"})
    job = BulkJob.objects.get()
    assert response["Location"] == reverse("invoicing:bulk-job", args=[job.pk]) and len(callbacks) == 1  # the task, queued after commit
    services.bulk_job_process(job_id=job.pk)
    progress = finance_client.get(reverse("invoicing:bulk-job-progress", args=[job.pk])).content.decode()
    assert 'id="bulk-succeeded">1<' in progress and "hx-get" not in progress

def test_posting_one_invoice_shows_its_number_before_taking_it(run, finance_client):
    invoice = Invoice.objects.get()
    page = finance_client.get(reverse("invoicing:post", args=[invoice.pk])).content.decode()
    assert "It takes number F000001 of Recur SAS forever: numbers are never reused." in page
    assert "Post as F000001" in page
    assert Invoice.objects.get().status == "draft"
    finance_client.post(reverse("invoicing:post", args=[invoice.pk]))  # no confirmation: the question again
    assert Invoice.objects.get().status == "draft"
    finance_client.post(reverse("invoicing:post", args=[invoice.pk]), {"confirm": "1"})
    assert Invoice.objects.get().status == "posted"


def test_the_api_posts_a_run_in_bulk_and_sends_one_invoice(run, finance_api, sales_api, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    assert sales_api.post("/api/v1/invoices/bulk-post/", {"run": run.pk}, format="json").status_code == 403
    response = finance_api.post("/api/v1/invoices/bulk-post/", {"run": run.pk}, format="json")
    assert response.status_code == 202
    job_id = response.json()["id"]
    assert (response.json()["kind"], response.json()["total"], response.json()["status"]) == ("post", 1, "queued")
    services.bulk_job_process(job_id=job_id)
    assert finance_api.get(f"/api/v1/bulk-jobs/{job_id}/").json()["succeeded"] == 1
    invoice = Invoice.objects.get()
    sent = finance_api.post(f"/api/v1/invoices/{invoice.pk}/send/", {}, format="json")
    assert sent.status_code == 201 and sent.json()["invoice"] == invoice.pk
    assert finance_api.post(f"/api/v1/invoices/{invoice.pk}/send/", {}, format="json").json() == {
        "sent": False, "detail": "F000001 was already sent; send it with resend=true to send it again."}
    assert finance_api.post(f"/api/v1/invoices/{invoice.pk}/send/", {"resend": True}, format="json").status_code == 201
    detail = finance_api.get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert (detail["open_amount"], detail["payment_status"]) == ("288.00", "unpaid")
