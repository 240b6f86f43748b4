"""The quotes API: same services as the pages, so the same totals, errors and approval rules."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from rest_framework.test import APIClient

from quotes.models import Quote, QuoteLine
from quotes.tests.factories import account

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


def create_quote(api, acct, book, **extra):
    response = api.post(
        "/api/v1/quotes/",
        {"account": acct.pk, "price_book": book.pk, "start_date": "2026-04-01", "term_months": 12,
         "expiration_date": "2026-04-30", **extra},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def add_line(api, quote_id, product, **extra):
    return api.post("/api/v1/quote-lines/", {"quote": quote_id, "product": product.pk, **extra}, format="json")


def test_build_a_quote_and_read_its_totals(sales_api, cat, acct):
    quote = create_quote(sales_api, acct, cat["book"])
    assert (quote["status"], quote["payment_terms_days"], quote["end_date"]) == ("draft", 30, "2027-04-01")
    line = add_line(sales_api, quote["id"], cat["platform"], quantity="10", discount_percent="15")
    assert line.status_code == 201
    assert (line.json()["net_unit_price"], line.json()["line_total"], line.json()["multiplier"]) == ("1020", "10200.00", "1/1")
    add_line(sales_api, quote["id"], cat["onboarding"], quantity="1")
    add_line(sales_api, quote["id"], cat["storage"], quantity="15")
    body = sales_api.get(f"/api/v1/quotes/{quote['id']}/").json()
    assert {k: body[k] for k in ("one_time_total", "mrr", "arr", "total_contract_value", "tax_estimate", "grand_total")} == {
        "one_time_total": "500.00", "mrr": "966.67", "arr": "11600.00", "total_contract_value": "12100.00",
        "tax_estimate": "2420.00", "grand_total": "14520.00",
    }
    assert [line["product_sku"] for line in sales_api.get(f"/api/v1/quotes/{quote['id']}/lines/").json()] == [
        "PLAT-USER", "ONB-1", "STOR-TB",
    ]


def test_bad_line_input_gets_the_error_format_and_saves_nothing(sales_api, cat, acct):
    quote = create_quote(sales_api, acct, cat["book"])
    response = add_line(sales_api, quote["id"], cat["platform"], quantity="0", discount_percent="120")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid", "message": "quantity: The quantity must be greater than 0.",
            "fields": {
                "quantity": ["The quantity must be greater than 0."],
                "discount_percent": ["A discount must be between 0 and 100 %."],
            },
        }
    }
    assert QuoteLine.objects.count() == 0


def test_approval_cannot_be_bypassed_through_the_api(cat, acct, sales_user, finance_user, sales_api, finance_api):
    quote = create_quote(sales_api, acct, cat["book"])
    add_line(sales_api, quote["id"], cat["platform"], quantity="1", discount_percent="35")
    body = sales_api.post(f"/api/v1/quotes/{quote['id']}/submit/").json()
    assert (body["status"], body["approval_required"]) == ("in_review", True)
    assert body["approval_reason_messages"] == ["Line 1, Platform: discount of 35.00 % is above the 20 % threshold."]
    # A rep can neither approve nor present, nor change the status by editing.
    assert sales_api.post(f"/api/v1/quotes/{quote['id']}/approve/").status_code == 403
    response = sales_api.post(f"/api/v1/quotes/{quote['id']}/present/")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "invalid_transition")
    response = sales_api.patch(f"/api/v1/quotes/{quote['id']}/", {"status": "approved", "notes": "x"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "immutable")
    line_id = QuoteLine.objects.get().pk
    response = sales_api.patch(f"/api/v1/quote-lines/{line_id}/", {"discount_percent": "10"}, format="json")
    assert response.status_code == 409
    assert Quote.objects.get().status == "in_review"
    # Finance approves.
    body = finance_api.post(f"/api/v1/quotes/{quote['id']}/approve/", {"comment": "ok"}, format="json").json()
    assert (body["status"], body["approved_by"], body["approval_comment"]) == ("approved", finance_user.pk, "ok")


def test_status_is_read_only_on_a_draft(sales_api, cat, acct):
    quote = create_quote(sales_api, acct, cat["book"])
    body = sales_api.patch(f"/api/v1/quotes/{quote['id']}/", {"status": "approved", "notes": "Hello"}, format="json").json()
    assert (body["status"], body["notes"]) == ("draft", "Hello")


def test_reject_approval_needs_a_comment(sales_api, finance_api, cat, acct):
    quote = create_quote(sales_api, acct, cat["book"])
    add_line(sales_api, quote["id"], cat["platform"], quantity="1", discount_percent="35")
    sales_api.post(f"/api/v1/quotes/{quote['id']}/submit/")
    response = finance_api.post(f"/api/v1/quotes/{quote['id']}/reject-approval/", {}, format="json")
    assert response.json()["error"]["fields"] == {"comment": ["Say why the approval is rejected: the rep will read it."]}
    body = finance_api.post(f"/api/v1/quotes/{quote['id']}/reject-approval/", {"comment": "Too low"}, format="json").json()
    assert (body["status"], body["approval_comment"]) == ("draft", "Too low")


def test_present_pdf_accept_and_clone(sales_api, cat, acct, django_capture_on_commit_callbacks):
    quote = create_quote(sales_api, acct, cat["book"])
    add_line(sales_api, quote["id"], cat["platform"], quantity="1")
    assert sales_api.post(f"/api/v1/quotes/{quote['id']}/submit/").json()["status"] == "approved"
    response = sales_api.get(f"/api/v1/quotes/{quote['id']}/pdf/")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    with django_capture_on_commit_callbacks(execute=True):
        assert sales_api.post(f"/api/v1/quotes/{quote['id']}/present/").json()["status"] == "presented"
    body = sales_api.get(f"/api/v1/quotes/{quote['id']}/").json()
    assert body["pdf_url"] == f"http://testserver/api/v1/quotes/{quote['id']}/pdf/"
    response = sales_api.get(f"/api/v1/quotes/{quote['id']}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    accepted = sales_api.post(f"/api/v1/quotes/{quote['id']}/accept/")
    # Accepting is the Contracts stage's endpoint: the quote is accepted and its draft order made.
    assert (accepted.status_code, accepted.json()["status"], accepted.json()["quote"]) == (201, "draft", quote["id"])
    assert sales_api.get(f"/api/v1/quotes/{quote['id']}/").json()["status"] == "accepted"
    again = sales_api.post(f"/api/v1/quotes/{quote['id']}/accept/")
    assert (again.status_code, again.json()["id"]) == (200, accepted.json()["id"])
    clone = sales_api.post(f"/api/v1/quotes/{quote['id']}/clone/")
    assert clone.status_code == 201
    assert (clone.json()["version"], clone.json()["status"], clone.json()["total_contract_value"]) == (2, "draft", "1200.00")


def test_an_idempotency_key_replays_the_submit(sales_user, cat, acct):
    api = APIClient()
    api.force_authenticate(sales_user)
    quote = create_quote(api, acct, cat["book"])
    add_line(api, quote["id"], cat["platform"], quantity="1")
    first = api.post(f"/api/v1/quotes/{quote['id']}/submit/", HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post(f"/api/v1/quotes/{quote['id']}/submit/", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, second.status_code, second["Idempotency-Replayed"]) == (200, 200, "true")


def test_delete_a_draft(sales_api, cat, acct):
    quote = create_quote(sales_api, acct, cat["book"])
    assert sales_api.delete(f"/api/v1/quotes/{quote['id']}/").status_code == 204
    assert Quote.objects.count() == 0


def test_credit_summary_of_an_account(sales_api, cat):
    acct = account(credit_limit_amount=D("1000"), credit_hold=True)
    quote = create_quote(sales_api, acct, cat["book"])
    add_line(sales_api, quote["id"], cat["platform"], quantity="1")
    body = sales_api.get(f"/api/v1/accounts/{acct.pk}/credit-summary/", {"quote": quote["id"]}).json()
    assert {k: body[k] for k in ("open_balance", "overdue_amount", "credit_limit", "quote_amount", "remaining_after_quote", "over_limit", "credit_hold")} == {
        "open_balance": "0.00", "overdue_amount": "0.00", "credit_limit": "1000.00", "quote_amount": "1440.00",
        "remaining_after_quote": "-440.00", "over_limit": True, "credit_hold": True,
    }
    assert [w["code"] for w in body["warnings"]] == ["credit_hold", "over_limit"]
    assert sales_api.get("/api/v1/accounts/999999/credit-summary/").status_code == 404
