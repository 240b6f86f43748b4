"""Concurrency on PostgreSQL with real threads: row locks make each transition happen once."""

from decimal import Decimal

import pytest
from django.db import connection

from billing_site.audit import audit_history
from billing_site.errors import DomainError
from billing_site.testing import run_together
from quotes import services
from quotes.models import Quote
from quotes.tests.factories import TODAY, draft

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks (set DATABASE_URL to a PostgreSQL database)")


def run_together_bounded(*calls):
    return run_together(*calls, timeout=60)


@pytest.fixture
def presented(cat, acct, sales_user):
    quote = draft(actor=sales_user, account=acct, book=cat["book"])
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1")
    services.quote_submit(quote=quote, actor=sales_user, open_balance=Decimal("0"), today=TODAY)
    return services.quote_present(quote=quote, actor=sales_user, today=TODAY)


def test_two_accepts_at_once_accept_once(presented, sales_user):
    results = run_together_bounded(
        *[lambda: services.quote_accept(quote=Quote(pk=presented.pk), actor=sales_user, today=TODAY)] * 2
    )
    assert [r.status for r in results] == ["accepted", "accepted"]
    assert [a.action for a in audit_history(presented)].count("accepted") == 1


def test_two_clones_at_once_take_distinct_versions(presented, sales_user):
    source = Quote.objects.get(pk=presented.pk)
    results = run_together_bounded(*[lambda: services.quote_clone(quote=source, actor=sales_user, today=TODAY)] * 2)
    assert sorted(r.version for r in results) == [2, 3]


def test_a_line_added_while_submitting_is_refused_or_counted(cat, acct, sales_user):
    quote = draft(actor=sales_user, account=acct, book=cat["book"])
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1")
    results = run_together_bounded(
        lambda: services.quote_submit(quote=Quote(pk=quote.pk), actor=sales_user, open_balance=Decimal("0"), today=TODAY),
        lambda: services.quote_line_add(quote=Quote(pk=quote.pk), actor=sales_user, product=cat["onboarding"], quantity="1"),
    )
    quote.refresh_from_db()
    lines = quote.lines.count()
    # Either the line went in first and the approved total counts it, or the submit won and the add was refused.
    if isinstance(results[1], DomainError):
        assert (lines, quote.total_contract_value) == (1, Decimal("1200.00"))
    else:
        assert (lines, quote.total_contract_value) == (2, Decimal("1700.00"))
    assert quote.status == "approved"
