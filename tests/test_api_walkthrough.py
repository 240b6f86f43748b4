"""docs/api.md's walkthrough, played over real HTTP against a live server: token, account, quote, accept,
activate, invoice run, post, pay; then the events a polling client sees. Keep the two in step."""

import datetime as dt
import json
import urllib.error
import urllib.request

import pytest

from billing_site import clock
from billing_site.roles import Role
from conftest import make_user
from quotes.tests.factories import catalog

pytestmark = pytest.mark.django_db(transaction=True)


class Api:
    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.token = ""

    def __call__(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, headers, raw = exc.code, exc.headers, exc.read()
        return status, headers, (json.loads(raw) if raw else None)


def test_the_walkthrough_of_docs_api_md(live_server, celery_eager):
    make_user("clerk", Role.FINANCE)
    cat = catalog()
    today = clock.today()
    api = Api(live_server.url)

    # 1. A token.
    status, _h, body = api("POST", "/api/v1/auth/token/", {"username": "clerk", "password": "pw-clerk"})
    assert status == 200
    api.token = body["token"]

    # 2. An account.
    status, _h, account = api("POST", "/api/v1/accounts/", {
        "name": "Maison Verte", "country": "FR", "currency": "EUR", "billing_day": 1, "payment_terms_days": 30,
        "billing_emails": "ap@maison-verte.test"})
    assert status == 201, account
    assert account["number"] == f"ACC-{account['id']:05d}"

    # 3. A quote with one line: 10 users of the platform for 12 months.
    status, _h, quote = api("POST", "/api/v1/quotes/", {
        "account": account["id"], "price_book": cat["book"].pk, "start_date": today.isoformat(), "term_months": 12,
        "expiration_date": (today + dt.timedelta(days=30)).isoformat()})
    assert status == 201, quote
    status, _h, line = api("POST", "/api/v1/quote-lines/", {"quote": quote["id"], "product": cat["platform"].pk, "quantity": "10"})
    assert status == 201, line
    assert (line["quantity"], line["net_unit_price"], line["line_total"]) == ("10", "1200", "12000.00")

    # 4. Submit (no discount: approved at once), present, and the customer accepts: a draft order.
    assert api("POST", f"/api/v1/quotes/{quote['id']}/submit/")[2]["status"] == "approved"
    assert api("POST", f"/api/v1/quotes/{quote['id']}/present/")[2]["status"] == "presented"
    status, _h, order = api("POST", f"/api/v1/quotes/{quote['id']}/accept/")
    assert (status, order["status"], order["quote"]) == (201, "draft", quote["id"])

    # 5. Activate the order: the contract.
    status, _h, contract = api("POST", f"/api/v1/orders/{order['id']}/activate/")
    assert status == 200, contract
    assert (contract["status"], contract["account"]) == ("active", account["id"])

    # 6. An invoice run for today; the answer is the run as it is, with where to poll it.
    status, headers, run = api("POST", "/api/v1/invoice-runs/", {"target_date": today.isoformat(), "auto_post": False})
    assert status == 201, run
    assert headers["Location"] == f"/api/v1/invoice-runs/{run['id']}/"
    assert run["status"] == "completed"
    assert api("GET", headers["Location"])[2]["progress"]["invoices_count"] == 1

    # 7. Post the draft invoice: 10 × 1,200.00 / 12 a month + 20 % VAT = 1,200.00.
    status, _h, invoices = api("GET", f"/api/v1/invoices/?account={account['id']}")
    [draft] = invoices["results"]
    status, _h, invoice = api("POST", f"/api/v1/invoices/{draft['id']}/post/")
    assert status == 200, invoice
    assert (invoice["status"], invoice["subtotal_amount"], invoice["tax_amount"], invoice["total_amount"]) == (
        "posted", "1000.00", "200.00", "1200.00")

    # 8. Record the payment and let it settle the invoice.
    status, _h, payment = api("POST", "/api/v1/payments/", {
        "account": account["id"], "currency": "EUR", "amount": invoice["total_amount"],
        "received_date": today.isoformat(), "method": "bank_transfer", "reference": invoice["number"],
        "auto_allocate": True})
    assert status == 201, payment
    assert (payment["allocated_amount"], payment["unapplied_amount"]) == ("1200.00", "0.00")
    balance = api("GET", f"/api/v1/invoice-balances/{invoice['id']}/")[2]
    assert (balance["balance_amount"], balance["payment_status"]) == ("0.00", "paid")

    # 9. The events a polling client reads.
    status, _h, events = api("GET", "/api/v1/events/?after=0")
    assert [e["type"] for e in events["results"]] == [
        "quote.approved", "quote.accepted", "order.activated", "invoice_run.completed", "invoice.posted",
        "payment.received", "invoice.paid"]
    last = events["results"][-1]
    assert api("GET", f"/api/v1/events/?after={last['sequence']}")[2]["results"] == []
