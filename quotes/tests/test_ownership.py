"""Sales reps edit and submit only their own quotes (created by them, or on an account they own)."""

import datetime as dt

import pytest
import time_machine

from billing_site.errors import Forbidden
from billing_site.roles import Role
from conftest import make_user
from quotes import services
from quotes.models import Quote
from quotes.tests import factories

pytestmark = pytest.mark.django_db
MESSAGE = "Only the quote's creator, the account's sales owner, finance or an admin can change this quote."


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def theirs(cat, acct):
    other = make_user("other-rep", Role.SALES)
    quote = factories.draft(actor=other, account=acct, book=cat["book"])
    services.quote_line_add(quote=quote, actor=other, product=cat["platform"], quantity=1)
    return quote


def test_a_rep_cannot_edit_or_submit_another_reps_quote(sales_user, theirs):
    with pytest.raises(Forbidden) as exc:
        services.quote_update(quote=theirs, actor=sales_user, data={"notes": "x"})
    assert str(exc.value) == MESSAGE
    with pytest.raises(Forbidden):
        services.quote_submit(quote=theirs, actor=sales_user, open_balance=0)
    with pytest.raises(Forbidden):
        services.quote_line_remove(line=theirs.lines.get(), actor=sales_user)
    theirs.refresh_from_db()
    assert (theirs.status, theirs.notes, theirs.lines.count()) == (Quote.Status.DRAFT, "", 1)


def test_the_api_refuses_with_403(sales_api, theirs):
    response = sales_api.patch(f"/api/v1/quotes/{theirs.pk}/", {"notes": "x"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"error": {"code": "forbidden", "message": MESSAGE, "fields": {}}}
    assert sales_api.post(f"/api/v1/quotes/{theirs.pk}/submit/").status_code == 403
    assert sales_api.get(f"/api/v1/quotes/{theirs.pk}/").status_code == 200


def test_the_accounts_sales_owner_and_finance_may_edit(sales_user, finance_user, theirs):
    services.quote_update(quote=theirs, actor=finance_user, data={"notes": "finance"})
    theirs.account.sales_owner = sales_user
    theirs.account.save()
    services.quote_update(quote=theirs, actor=sales_user, data={"notes": "owner"})
    theirs.refresh_from_db()
    assert theirs.notes == "owner"
