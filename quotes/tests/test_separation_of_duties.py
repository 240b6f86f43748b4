"""Nobody approves their own request: whoever created or submitted a quote cannot approve it or send it back."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from billing_site.roles import Role
from conftest import make_user
from quotes import services
from quotes.models import Quote
from quotes.services.lifecycle import NotAllowed
from quotes.tests import factories

pytestmark = pytest.mark.django_db
RULE = (
    "Separation of duties: whoever created or submitted a quote cannot approve it or send it back; "
    "ask another finance user."
)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def own_discount(finance_user, cat, acct):
    """Finance builds a quote with a 60 % discount and submits it itself."""
    quote = factories.draft(actor=finance_user, account=acct, book=cat["book"])
    services.quote_line_add(quote=quote, actor=finance_user, product=cat["platform"], quantity=1, discount_percent="60")
    return services.quote_submit(quote=quote, actor=finance_user, open_balance=0)


def test_finance_cannot_approve_its_own_60_percent_discount(finance_user, own_discount):
    assert own_discount.status == Quote.Status.IN_REVIEW
    with pytest.raises(NotAllowed) as exc:
        services.quote_approve(quote=own_discount, actor=finance_user)
    assert (str(exc.value), exc.value.code, exc.value.status_code) == (RULE, "separation_of_duties", 403)
    with pytest.raises(NotAllowed):
        services.quote_reject_approval(quote=own_discount, actor=finance_user, comment="no")
    own_discount.refresh_from_db()
    assert (own_discount.status, own_discount.approved_by) == (Quote.Status.IN_REVIEW, None)


def test_the_submitter_cannot_approve_a_quote_someone_else_created(cat, acct, sales_user):
    other = make_user("felix", Role.FINANCE)
    quote = factories.draft(actor=sales_user, account=acct, book=cat["book"])
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity=1, discount_percent="60")
    services.quote_submit(quote=quote, actor=other, open_balance=0)
    with pytest.raises(NotAllowed) as exc:
        services.quote_approve(quote=quote, actor=other)
    assert str(exc.value) == RULE
    third = make_user("fanny", Role.FINANCE)
    approved = services.quote_approve(quote=quote, actor=third, comment="fine")
    assert (approved.status, approved.approved_by, approved.submitted_by) == (Quote.Status.APPROVED, third, other)


def test_the_api_refuses_self_approval_with_403(finance_user, own_discount):
    api = APIClient()
    api.force_authenticate(finance_user)
    for action in ("approve", "reject-approval"):
        response = api.post(f"/api/v1/quotes/{own_discount.pk}/{action}/", {"comment": "ok"}, format="json")
        assert response.status_code == 403
        assert response.json() == {"error": {"code": "separation_of_duties", "message": RULE, "fields": {}}}
    other = APIClient()
    other.force_authenticate(make_user("felix", Role.FINANCE))
    response = other.post(f"/api/v1/quotes/{own_discount.pk}/approve/", {"comment": "ok"}, format="json")
    assert (response.status_code, response.json()["status"]) == (200, "approved")


def test_the_page_shows_the_rule(client, finance_user, own_discount):
    client.force_login(finance_user)
    response = client.post(reverse("quotes:approve", args=[own_discount.pk]), {"comment": "ok"}, follow=True)
    assert RULE in [str(m) for m in response.context["messages"]]
    own_discount.refresh_from_db()
    assert own_discount.status == Quote.Status.IN_REVIEW
