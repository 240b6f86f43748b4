import datetime as dt

import pytest
import time_machine
from django.test import override_settings

from billing_site import clock
from billing_site.audit import audit_history, audit_record
from billing_site.models import AuditLog
from customers.tests.factories import AccountFactory


@override_settings(BILLING_TIME_ZONE="Europe/Paris")
def test_today_is_the_date_in_the_billing_time_zone():
    # 23:30 UTC on 31 Dec is already 1 Jan in Paris.
    with time_machine.travel(dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.UTC), tick=False):
        assert clock.today() == dt.date(2026, 1, 1)


@override_settings(BILLING_TIME_ZONE="America/New_York")
def test_today_in_new_york_is_still_the_previous_day():
    with time_machine.travel(dt.datetime(2026, 1, 1, 3, 0, tzinfo=dt.UTC), tick=False):
        assert clock.today() == dt.date(2025, 12, 31)


def test_business_date_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        clock.business_date(dt.datetime(2026, 1, 1, 12, 0))


def test_inclusive_end_shows_the_last_day_served():
    assert clock.inclusive_end(dt.date(2026, 3, 1)) == dt.date(2026, 2, 28)


@pytest.mark.django_db
def test_audit_log_is_append_only(finance_user):
    account = AccountFactory()
    row = audit_record(obj=account, action="status_changed", actor=finance_user, from_state="active", to_state="suspended")
    assert (row.actor_label, row.object_type, row.object_id, row.from_state, row.to_state) == (
        "fiona", "customers.account", str(account.pk), "active", "suspended"
    )
    row.message = "tampered"
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        row.delete()
    with pytest.raises(PermissionError):
        AuditLog.objects.filter(pk=row.pk).update(message="x")
    with pytest.raises(PermissionError):
        AuditLog.objects.all().delete()
    assert list(audit_history(account).values_list("action", flat=True)) == ["status_changed"]


@pytest.mark.django_db
def test_jobs_are_audited_as_system():
    account = AccountFactory()
    row = audit_record(obj=account, action="credit_hold_changed", actor=None, actor_label="dunning")
    assert row.actor is None and row.actor_label == "dunning"
