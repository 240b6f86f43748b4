"""API list pages answer a summary: no lines (nor snapshot) unless `?expand=` names them; the detail has them."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoicing import services
from invoicing.models import Invoice

pytestmark = pytest.mark.django_db

SUMMARY_FIELDS = ["id", "number", "status", "account", "legal_entity", "currency", "payment_terms_days", "contract",
                  "invoice_date", "due_date", "target_date", "subtotal_amount", "tax_amount", "total_amount", "open_amount",
                  "payment_status", "run",
                  "rebill_of", "posted_at", "sent_at", "cancelled_at"]
LINE_FIELDS = ["id", "position", "source", "schedule_entry", "subscription", "description", "period_start", "period_end",
               "quantity", "unit_price", "factor_numerator", "factor_denominator", "factor_display", "net_amount",
               "tax_rate_percent", "tax_label", "tax_amount", "total_amount"]


@pytest.fixture
def invoice(contract):
    run = services.invoice_run_create(actor=None, target_date=date(2025, 1, 15), auto_post=True, start=False)
    services.invoice_run_execute(run=run)
    return Invoice.objects.get()


def _line_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "invoicing_invoiceline" in q["sql"]]


def test_invoice_list_carries_no_lines_by_default(finance_api, invoice):
    with CaptureQueriesContext(connection) as captured:
        response = finance_api.get("/api/v1/invoices/")
    assert response.status_code == 200
    item = response.json()["results"][0]
    assert list(item) == SUMMARY_FIELDS
    assert (item["number"], item["total_amount"]) == ("F000001", "288.00")
    assert _line_queries(captured) == []


def test_invoice_list_with_expand_lines_carries_the_lines(finance_api, invoice):
    with CaptureQueriesContext(connection) as captured:
        item = finance_api.get("/api/v1/invoices/?expand=lines").json()["results"][0]
    assert list(item) == [*SUMMARY_FIELDS, "lines"]
    assert len(_line_queries(captured)) == 1  # one prefetch for the page, not one query per invoice
    [line] = item["lines"]
    assert list(line) == LINE_FIELDS
    assert (line["period_start"], line["period_end"], line["quantity"], line["net_amount"], line["tax_amount"],
            line["total_amount"]) == ("2025-01-15", "2025-02-15", "2", "240.00", "48.00", "288.00")
    both = finance_api.get("/api/v1/invoices/?expand=lines,snapshot").json()["results"][0]
    assert list(both) == [*SUMMARY_FIELDS[:14], "snapshot", *SUMMARY_FIELDS[14:], "lines"]
    assert both["snapshot"]["account"]["name"] == "Maison Verte"


def test_invoice_detail_always_carries_lines_and_snapshot(finance_api, invoice):
    item = finance_api.get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert list(item) == [*SUMMARY_FIELDS[:14], "snapshot", *SUMMARY_FIELDS[14:], "lines"]
    assert [line["total_amount"] for line in item["lines"]] == ["288.00"]


def test_an_unknown_expansion_is_refused_with_the_choices(finance_api, invoice):
    response = finance_api.get("/api/v1/invoices/?expand=lines,payments")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "expand: Unknown expansion: payments. Choose from: lines, snapshot."


def test_credit_note_list_carries_lines_only_when_expanded(finance_api, invoice):
    line = invoice.lines.get()
    note = finance_api.post("/api/v1/credit-notes/", {"invoice": invoice.pk, "reason": "Discount",
                                                      "lines": {str(line.pk): "10.00"}}, format="json").json()
    assert [x["total_amount"] for x in note["lines"]] == ["12.00"]
    item = finance_api.get("/api/v1/credit-notes/").json()["results"][0]
    assert "lines" not in item and item["total_amount"] == "12.00"
    expanded = finance_api.get("/api/v1/credit-notes/?expand=lines").json()["results"][0]
    assert [(x["net_amount"], x["tax_amount"], x["total_amount"]) for x in expanded["lines"]] == [("10.00", "2.00", "12.00")]


def test_page_size_is_bounded_and_documented(finance_api, invoice):
    from drf_spectacular.generators import SchemaGenerator

    from billing_site.pagination import Pagination

    assert (Pagination.page_size, Pagination.max_page_size) == (50, 200)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    params = {p["name"]: p for p in schema["paths"]["/api/v1/invoices/"]["get"]["parameters"]}
    assert params["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}
    assert params["expand"]["schema"]["items"]["enum"] == ["lines", "snapshot"]
    summary = schema["components"]["schemas"]["InvoiceSummary"]
    assert "lines" not in summary["required"] and summary["properties"]["lines"]["description"] == "Only with `?expand=lines`."
    assert finance_api.get("/api/v1/invoices/?page_size=1000").status_code == 200
