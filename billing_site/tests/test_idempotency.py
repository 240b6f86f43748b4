"""Idempotency-Key: a request that failed does not hold its key, and bodies compare as parsed JSON."""

import json

import pytest
from rest_framework.test import APIClient

from billing_site.models import IdempotencyRecord
from customers import services as customer_services
from customers.models import Account

pytestmark = pytest.mark.django_db

BODY = {"name": "API Corp", "country": "US", "currency": "USD", "billing_day": 10, "payment_terms_days": 30}


def test_a_request_that_raised_releases_its_key_and_the_retry_runs(finance_user, monkeypatch):
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(finance_user)
    real = customer_services.account_create

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(customer_services, "account_create", broken)
    first = api.post("/api/v1/accounts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-err")
    assert first.status_code == 500
    assert IdempotencyRecord.objects.count() == 0

    monkeypatch.setattr(customer_services, "account_create", real)
    retry = api.post("/api/v1/accounts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-err")
    assert retry.status_code == 201, retry.content
    assert Account.objects.get().name == "API Corp"


def test_the_same_json_written_differently_is_the_same_request(finance_api):
    compact = json.dumps(BODY, separators=(",", ":"))
    spaced = json.dumps(dict(reversed(list(BODY.items()))), indent=2).replace("30", "30.0")
    first = finance_api.post("/api/v1/accounts/", compact, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-json")
    second = finance_api.post("/api/v1/accounts/", spaced, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-json")
    assert first.status_code == second.status_code == 201
    assert second["Idempotency-Replayed"] == "true"
    assert Account.objects.count() == 1


def test_another_json_value_is_still_a_conflict(finance_api):
    finance_api.post("/api/v1/accounts/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-other")
    response = finance_api.post("/api/v1/accounts/", {**BODY, "billing_day": 11}, format="json", HTTP_IDEMPOTENCY_KEY="k-other")
    assert response.status_code == 409


def test_an_upload_over_the_limit_with_a_key_gets_the_api_error(finance_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    content = b"date,amount,currency,reference,counterparty\n" + b"2025-01-01,1.00,EUR,x,y\n" * 60000
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = finance_api.post("/api/v1/bank-statements/", {"file": SimpleUploadedFile("big.csv", content)},
                                format="multipart", HTTP_IDEMPOTENCY_KEY="k-big")
    assert response.status_code == 413
    assert response.json() == {"error": {"code": "too_large", "message": "The request is larger than the limit of 1 MB.", "fields": {}}}
    assert IdempotencyRecord.objects.count() == 0
