"""Contract test: the main endpoints' responses validated against the OpenAPI schema Recur serves.

Every object schema is made strict (no property the schema does not list) and OpenAPI's `nullable`
is translated to JSON Schema, so a field missing from the schema, an undocumented null or enum value,
or an endpoint documented with another shape all fail here.
"""

import datetime as dt
import re

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from billing_site import clock
from billing_site.roles import Role
from conftest import make_user
from quotes.tests.factories import catalog

pytestmark = pytest.mark.django_db


def _strict(node):
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _strict(v) for k, v in node.items()}
    nullable = node.pop("nullable", False)
    if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    if nullable:
        return {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        raw = SchemaGenerator().get_schema(request=None, public=True)
    return _strict(raw)


class Checked:
    """An API client that validates every response against the schema of its operation."""

    def __init__(self, schema, user):
        self.schema = schema
        self.api = APIClient()
        self.api.force_authenticate(user)
        self.checked: list[str] = []

    def _operation(self, method: str, path: str):
        path = path.split("?")[0]
        for template, item in self.schema["paths"].items():
            pattern = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$"
            if re.match(pattern, path) and method in item:
                return template, item[method]
        raise AssertionError(f"{method.upper()} {path} is not in the schema")

    def __call__(self, method: str, path: str, body=None, expect: int | None = None):
        response = getattr(self.api, method)(path, body, format="json") if body is not None else getattr(self.api, method)(path)
        template, operation = self._operation(method, path)
        status = str(response.status_code)
        if expect is not None:
            assert response.status_code == expect, (path, response.status_code, getattr(response, "data", None))
        documented = operation["responses"]
        assert status in documented, f"{method.upper()} {template} answered {status}; documented: {sorted(documented)}"
        content = documented[status].get("content", {}).get("application/json")
        if response.status_code == 204 or content is None:
            assert not response.content or content is None, f"{method.upper()} {template} {status}: body not documented"
            return None
        body = response.json()
        resolver_root = {"components": self.schema["components"], **content["schema"]}
        try:
            jsonschema.validate(body, resolver_root)
        except jsonschema.ValidationError as exc:
            raise AssertionError(f"{method.upper()} {template} {status}: {exc.message} at {list(exc.absolute_path)}") from None
        self.checked.append(f"{method.upper()} {template} {status}")
        return body


def test_the_main_endpoints_answer_what_the_schema_says(schema, celery_eager, django_capture_on_commit_callbacks):
    finance = make_user("contract-fin", Role.FINANCE)
    cat = catalog()
    today = clock.today()
    call = Checked(schema, finance)

    account = call("post", "/api/v1/accounts/", {"name": "Maison Verte", "country": "FR", "currency": "EUR",
                                                 "billing_day": 1, "payment_terms_days": 30}, expect=201)
    call("get", f"/api/v1/accounts/{account['id']}/", expect=200)
    call("get", "/api/v1/accounts/", expect=200)
    call("post", "/api/v1/accounts/", {"name": ""}, expect=400)
    quote = call("post", "/api/v1/quotes/", {
        "account": account["id"], "price_book": cat["book"].pk, "start_date": today.isoformat(), "term_months": 12,
        "expiration_date": (today + dt.timedelta(days=30)).isoformat()}, expect=201)
    call("post", "/api/v1/quote-lines/", {"quote": quote["id"], "product": cat["platform"].pk, "quantity": "10"}, expect=201)
    call("get", f"/api/v1/quotes/{quote['id']}/lines/", expect=200)
    call("get", f"/api/v1/quotes/{quote['id']}/", expect=200)
    call("get", "/api/v1/quotes/", expect=200)
    call("post", f"/api/v1/quotes/{quote['id']}/submit/", expect=200)
    call("post", f"/api/v1/quotes/{quote['id']}/present/", expect=200)
    order = call("post", f"/api/v1/quotes/{quote['id']}/accept/", expect=201)
    call("get", f"/api/v1/orders/{order['id']}/", expect=200)
    call("get", "/api/v1/orders/", expect=200)
    contract = call("post", f"/api/v1/orders/{order['id']}/activate/", expect=200)
    call("get", f"/api/v1/contracts/{contract['id']}/", expect=200)
    call("get", "/api/v1/contracts/", expect=200)
    call("get", "/api/v1/subscriptions/", expect=200)
    with django_capture_on_commit_callbacks(execute=True):  # the run's task, eager, after its commit
        run = call("post", "/api/v1/invoice-runs/", {"target_date": today.isoformat()}, expect=201)
    call("get", f"/api/v1/invoice-runs/{run['id']}/", expect=200)
    invoices = call("get", f"/api/v1/invoices/?account={account['id']}", expect=200)
    expanded = call("get", f"/api/v1/invoices/?account={account['id']}&expand=lines,snapshot", expect=200)
    assert "lines" not in invoices["results"][0] and expanded["results"][0]["lines"]
    invoice = call("post", f"/api/v1/invoices/{invoices['results'][0]['id']}/post/", expect=200)
    call("post", f"/api/v1/invoices/{invoice['id']}/post/", expect=409)
    call("get", f"/api/v1/invoices/{invoice['id']}/", expect=200)
    note = call("post", "/api/v1/credit-notes/", {"invoice": invoice["id"], "reason": "Goodwill",
                                                  "lines": {str(invoice["lines"][0]["id"]): "100.00"}}, expect=201)
    note = call("post", f"/api/v1/credit-notes/{note['id']}/post/", expect=200)
    call("get", f"/api/v1/credit-notes/{note['id']}/", expect=200)
    payment = call("post", "/api/v1/payments/", {"account": account["id"], "currency": "EUR", "amount": "50.00",
                                                 "received_date": today.isoformat(), "method": "bank_transfer"}, expect=201)
    call("post", f"/api/v1/payments/{payment['id']}/allocate/", {"invoice": invoice["id"], "amount": "50.00"}, expect=201)
    call("get", f"/api/v1/invoice-balances/{invoice['id']}/", expect=200)
    call("get", "/api/v1/events/?after=0", expect=200)
    call("get", "/api/v1/tokens/", expect=200)
    call("post", f"/api/v1/contracts/{contract['id']}/renew/", expect=200)
    assert len(call.checked) == 34


def test_operation_ids_are_readable_and_unique(schema):
    ids = [op["operationId"] for item in schema["paths"].values() for op in item.values() if isinstance(op, dict) and "operationId" in op]
    assert len(ids) == len(set(ids))
    assert {"accounts_create", "quotes_submit", "quotes_accept", "orders_activate", "invoice_runs_create", "invoices_post",
            "payments_create", "credit_note_balances_allocate", "events_list", "users_invite", "tokens_revoke"} <= set(ids)
    assert not [i for i in ids if i.startswith("v1_")]
    errors = schema["paths"]["/api/v1/invoices/{id}/post/"]["post"]["responses"]
    assert sorted(errors) == ["200", "400", "401", "403", "404", "405", "406", "409", "413", "415", "429"]


def test_token_clients_read_the_schema(finance_user):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=finance_user)
    client = APIClient()
    assert client.get("/api/v1/schema/?format=json").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Recur API"
