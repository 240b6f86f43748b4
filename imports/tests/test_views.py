"""The import pages: upload, preview with mapping, commit on the workers, error CSV, templates."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Account
from imports.models import ImportBatch

pytestmark = pytest.mark.django_db


def post_file(client, text, kind="accounts", name="accounts.csv"):
    return client.post("/imports/", {"kind": kind, "file": SimpleUploadedFile(name, text.encode())})


def test_upload_preview_map_and_commit(finance_client, celery_eager, django_capture_on_commit_callbacks):
    response = post_file(finance_client, "code,name,country,currency\nC-1,Acme,FR,EUR\n")
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{batch.pk}/"
    page = finance_client.get(f"/imports/{batch.pk}/").content.decode()
    assert "Missing column: external_id." in page and 'name="map:code"' in page
    finance_client.post(f"/imports/{batch.pk}/mapping/", {"map:code": "external_id"})
    page = finance_client.get(f"/imports/{batch.pk}/").content.decode()
    assert 'id="commit-all"' in page
    with django_capture_on_commit_callbacks(execute=True):
        finance_client.post(f"/imports/{batch.pk}/commit/", {"mode": "all"})
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert Account.objects.get().name == "Acme"
    assert finance_client.post(f"/imports/{batch.pk}/commit/", {"mode": "all"}).status_code == 302
    assert Account.objects.count() == 1


def test_a_bad_file_shows_the_reason_on_the_form(finance_client):
    response = finance_client.post("/imports/", {"kind": "accounts", "file": SimpleUploadedFile("a.csv", "é".encode("latin-1"))})
    assert "The file is not UTF-8 text (byte 1)." in response.content.decode()
    assert ImportBatch.objects.count() == 0


def test_templates_in_csv_and_xlsx(finance_client):
    response = finance_client.get("/imports/templates/contracts.csv")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == ("contract_id,account,price_book,start_date,term_months,end_date,evergreen,billed_through,"
                        "product,quantity,unit_price,line_start_date,line_end_date")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(finance_client.get("/imports/templates/opening.xlsx").content))
    assert [c.value for c in book.active[1]][:3] == ["external_id", "account", "number"]
    assert finance_client.get("/imports/templates/nope.csv").status_code == 404


def test_sales_cannot_import(sales_client):
    assert sales_client.get("/imports/").status_code == 403
