import pytest
from rest_framework.test import APIClient

from customers.models import Account

pytestmark = pytest.mark.django_db

BODY = {"name": "API Corp", "country": "US", "currency": "USD", "billing_day": 10, "payment_terms_days": 30}


def test_anonymous_gets_401():
    response = APIClient().get("/api/v1/accounts/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_create_and_list(finance_api):
    response = finance_api.post("/api/v1/accounts/", BODY, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["number"] == f"ACC-{Account.objects.get().pk:05d}"
    listing = finance_api.get("/api/v1/accounts/", {"q": "api"}).json()
    assert listing["count"] == 1 and listing["results"][0]["name"] == "API Corp"


def test_bad_input_gets_the_documented_error_format(finance_api):
    response = finance_api.post("/api/v1/accounts/", {**BODY, "billing_day": 40, "country": "XX"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "country: “XX” is not an ISO 3166 country code.",
            "fields": {
                "billing_day": ["Ensure this value is less than or equal to 31."],
                "country": ["“XX” is not an ISO 3166 country code."],
            },
        }
    }
    assert Account.objects.count() == 0


def test_sales_cannot_set_a_credit_limit_through_the_api(sales_api):
    body = {"name": "API Corp", "country": "US", "currency": "USD", "credit_limit_amount": "5000"}
    response = sales_api.post("/api/v1/accounts/", body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["fields"] == {"credit_limit_amount": ["Only finance can change this field."]}


def test_idempotency_key_replays_the_first_response(finance_api):
    first = finance_api.post("/api/v1/accounts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = finance_api.post("/api/v1/accounts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotency-Replayed"] == "true"
    assert Account.objects.count() == 1


def test_idempotency_key_with_another_body_is_a_conflict(finance_api):
    finance_api.post("/api/v1/accounts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = finance_api.post("/api/v1/accounts/", {**BODY, "name": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "idempotency_conflict",
            "message": "This Idempotency-Key was already used with a different request.",
            "fields": {},
        }
    }
    assert Account.objects.count() == 1


def test_a_refused_request_is_replayed_too(finance_api):
    bad = {**BODY, "billing_day": 0}
    first = finance_api.post("/api/v1/accounts/", bad, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    second = finance_api.post("/api/v1/accounts/", bad, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert first.status_code == second.status_code == 400
    assert second.json() == first.json()


def test_token_auth(finance_user):
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": "fiona", "password": "pw-fiona"}, format="json").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/accounts/").status_code == 200


def test_schema_is_served(finance_client):
    response = finance_client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/accounts/" in response.content
    assert b"Idempotency-Key" in response.content
