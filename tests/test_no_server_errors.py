"""Hostile or careless input gets a 4xx in the API's error format, or a per-row reason: never a 500."""

import codecs
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from contracts import services as contract_services
from contracts.models import Order
from contracts.tests.factories import Catalog, draft_order
from invoicing.models import UsageRecord
from invoicing.tests.factories import AccountFactory, activate, make_catalog
from payments.models import StatementImport

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(finance_user):
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(finance_user)
    return client


@pytest.mark.parametrize("path", [
    "/api/v1/invoices/abc/post/", "/api/v1/orders/abc/activate/", "/api/v1/quotes/abc/submit/",
    "/api/v1/contracts/1e3/renew/", "/api/v1/invoices/99999999999999999999/post/",
])
def test_a_non_numeric_id_in_an_action_url_is_a_404(api, path):
    response = api.post(path)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


def test_activating_an_amendment_order_is_a_409(api):
    catalog = Catalog()
    product = catalog.product("seat", price="120.00", frequency=1)
    contract = contract_services.order_activate(order=draft_order(catalog=catalog, products=[(product, 10)]), actor=None,
                                                today=date(2025, 1, 1))
    amendment = contract_services.contract_amend(
        contract=contract, actor=None, today=date(2025, 6, 1),
        request=contract_services.AmendmentRequest(type="add_quantity", effective_date=date(2025, 6, 16),
                                                   subscription=contract.subscriptions.get(), quantity=5),
    )
    assert amendment.type == Order.Type.AMENDMENT
    response = api.post(f"/api/v1/orders/{amendment.pk}/activate/")
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "invalid_transition", "fields": {},
                                        "message": "Amendment orders are activated by the amendment itself."}


def test_editing_a_renewal_quote_line_reprices_it(api):
    catalog = Catalog()
    product = catalog.product("seat", price="1200.00", frequency=12)
    contract = contract_services.order_activate(order=draft_order(catalog=catalog, products=[(product, 1)]), actor=None,
                                                today=date(2025, 1, 1))
    quote = api.post(f"/api/v1/contracts/{contract.pk}/renew/").json()["quote"]
    line = api.get("/api/v1/quote-lines/", {"quote": quote["id"]}).json()["results"][0]
    response = api.patch(f"/api/v1/quote-lines/{line['id']}/", {"quantity": "3"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["quantity"], response.json()["line_total"]) == ("3", "3600.00")


def test_usage_records_too_large_are_refused_one_by_one_and_the_good_ones_import(api):
    catalog = make_catalog()
    calls = catalog.product("api-calls", price="0.01", charge_type="usage", billing_type="arrears", frequency=1)
    sub = activate(catalog=catalog, products=[(calls, "1")], account=AccountFactory()).subscriptions.get()
    stamp = "2025-01-10T10:00:00Z"
    body = ('{"records": ['
            f'{{"subscription": {sub.pk}, "quantity": 1e14, "timestamp": "{stamp}", "idempotency_key": "big"}},'
            f'{{"subscription": {sub.pk}, "quantity": 1e400, "timestamp": "{stamp}", "idempotency_key": "inf"}},'
            f'{{"subscription": {sub.pk}, "quantity": "1E+400", "timestamp": "{stamp}", "idempotency_key": "huge"}},'
            f'{{"subscription": {sub.pk}, "quantity": "12", "timestamp": "{stamp}", "idempotency_key": "ok"}}]}}')
    response = api.post("/api/v1/usage/", body, content_type="application/json")
    assert response.status_code == 200, response.content
    result = response.json()
    assert (result["imported"], result["rejected"]) == (1, 3)
    assert result["errors"] == [{"row": 0, "reason": "The quantity must be at most 999,999,999."},
                                {"row": 1, "reason": "The quantity must be at most 999,999,999."},
                                {"row": 2, "reason": "The quantity must be at most 999,999,999."}]
    assert list(UsageRecord.objects.values_list("idempotency_key", flat=True)) == ["ok"]


HEADER = "date,amount,currency,reference,counterparty\n"


@pytest.mark.parametrize(("content", "message"), [
    ((HEADER + "2026-06-01,10.00,EUR,ref,payer,surprise\n").encode(), "Line 2 has more cells than the header has columns."),
    ((HEADER + "2026-06-01,1E+400,EUR,ref,payer\n").encode(), "Line 2: The amount must be at most 999,999,999,999.99."),
    ((HEADER + "2026-06-01,99999999999999999999.00,EUR,ref,payer\n").encode(), "Line 2: The amount must be at most 999,999,999,999.99."),
    ((HEADER + "2052-06-01,10.00,EUR,ref,payer\n").encode(), "Line 2: The date must be between 2016-06-10 and 2027-06-11."),
    (HEADER.encode("utf-16-le") + b"\x00", "The file is not a text file in UTF-8, UTF-16 (with its byte-order mark) or Latin-1. Save it as CSV UTF-8."),
    (b"""<?xml version="1.0"?><Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy="EUR">12,3,4</Amt><CdtDbtInd>CRDT</CdtDbtInd>"""
     b"""<BookgDt><Dt>2026-06-01</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>""", "Line entry 1: “12,3,4” is not an amount."),
])
def test_bad_statement_files_get_a_400_naming_the_line(api, content, message, time_machine):
    time_machine.move_to("2026-06-10 10:00Z")
    response = api.post("/api/v1/bank-statements/", {"file": SimpleUploadedFile("s.csv", content)}, format="multipart")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {"file": [message]}
    assert StatementImport.objects.count() == 0


def test_a_utf16_statement_with_its_bom_is_read(api, time_machine):
    time_machine.move_to("2026-06-10 10:00Z")
    content = codecs.BOM_UTF16_LE + (HEADER + "2026-06-01,10.00,EUR,réf été,Müller\n").encode("utf-16-le")
    response = api.post("/api/v1/bank-statements/", {"file": SimpleUploadedFile("s.csv", content)}, format="multipart")
    assert response.status_code == 201, response.content
    line = StatementImport.objects.get().lines.get()
    assert (line.amount, line.reference, line.counterparty) == (Decimal("10.00"), "réf été", "Müller")


@pytest.mark.parametrize("url", ["/api/v1/invoices/?run=-1.7976931348623157e%2B308", "/api/v1/quotes/?account=-3.45e%2B194"])
def test_an_id_filter_beyond_the_database_range_is_not_a_server_error(api, url):
    response = api.get(url)
    if response.status_code == 400:  # SQLite cannot bind the number
        assert response.json() == {"error": {"code": "out_of_range", "message": "A value in the request is out of range.", "fields": {}}}
    else:  # PostgreSQL compares it and finds nothing
        assert (response.status_code, response.json()["count"]) == (200, 0)


@pytest.mark.parametrize(("method", "url", "body"), [
    ("get", "/api/v1/accounts/?q=a%00b", None), ("post", "/api/v1/accounts/", '{"name": "A\\u0000B"}'),
])
def test_a_nul_character_is_refused_as_bad_input(api, method, url, body):
    response = getattr(api, method)(url, body, content_type="application/json") if body else api.get(url)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"].values()) == [["NUL characters are not allowed."]]


def test_an_api_url_that_matches_nothing_is_a_404_in_the_api_format(api):
    response = api.post("/api/v1/quotes/-5/approve/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}
