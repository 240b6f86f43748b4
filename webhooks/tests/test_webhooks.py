import datetime as dt
import json

import pytest
from django.core import mail

from billing_site.events import event_record
from billing_site.models import Event
from webhooks import services
from webhooks.models import Delivery, Endpoint
from webhooks.signing import signature_header, signature_verify
from webhooks.tests.receiver import Receiver

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _event(account_id, n=1, type="invoice.posted"):
    return event_record(type=type, account_id=account_id, payload={"id": n, "number": f"INV-{n:04d}"}, now=T0)


def _endpoint(admin_user, url, types=()):
    return services.endpoint_create(actor=admin_user, data={"url": url, "event_types": list(types)})


def test_a_delivery_is_signed_and_the_documented_check_accepts_it(admin_user):
    with Receiver() as rx:
        endpoint = _endpoint(admin_user, rx.url)
        event = _event(7)
        assert services.webhooks_pump(now=T0) == 1
    [request] = rx.requests
    assert request["path"] == "/hooks"
    assert request["body"] == {
        "id": event.event_id, "sequence": event.pk, "type": "invoice.posted", "created_at": "2026-03-02T09:00:00Z",
        "account_id": 7, "data": {"id": 1, "number": "INV-0001"},
    }
    header = request["headers"]["Recur-Signature"]
    ts = int(T0.timestamp())
    assert header == signature_header(secret=endpoint.secret, body=request["raw"], timestamp=ts)
    assert header.startswith(f"t={ts},v1=")
    assert request["headers"]["Recur-Event-Id"] == event.event_id
    assert signature_verify(endpoint.secret, request["raw"], header, now=ts + 10) is True
    # Another body, another secret, or a replay after the window: refused.
    assert signature_verify(endpoint.secret, request["raw"] + b" ", header, now=ts) is False
    assert signature_verify("whsec_other", request["raw"], header, now=ts) is False
    assert signature_verify(endpoint.secret, request["raw"], header, now=ts + 301) is False
    assert signature_verify(endpoint.secret, request["raw"], "v1=abc", now=ts) is False
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts_count, delivery.last_status_code) == ("succeeded", 1, 200)


def test_a_500_is_retried_after_the_backoff(admin_user):
    answers = iter([500, 200])
    with Receiver(lambda body: next(answers)) as rx:
        _endpoint(admin_user, rx.url)
        _event(7)
        services.webhooks_pump(now=T0)
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.attempts_count, delivery.last_status_code) == ("pending", 1, 500)
        assert delivery.last_error == "The endpoint answered 500."
        assert delivery.next_attempt_at == T0 + dt.timedelta(seconds=30)
        assert services.webhooks_pump(now=T0 + dt.timedelta(seconds=29)) == 0
        assert services.webhooks_pump(now=T0 + dt.timedelta(seconds=30)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts_count, delivery.last_status_code) == ("succeeded", 2, 200)
    assert [a.status_code for a in delivery.attempts.order_by("at")] == [500, 200]
    assert len(rx.requests) == 2


def test_backoff_doubles_up_to_six_hours():
    assert [services.retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 10, 11, 20)] == [
        30, 60, 120, 240, 15360, 21600, 21600]


def test_each_accounts_deliveries_go_in_event_order(admin_user):
    failed_once = set()

    def answer(body):
        # The first try of account 1's first event fails; everything else is accepted.
        if body["account_id"] == 1 and body["data"]["id"] == 1 and not failed_once:
            failed_once.add(1)
            return 500
        return 204

    with Receiver(answer) as rx:
        _endpoint(admin_user, rx.url)
        a1, a2, b1 = _event(1, 1), _event(1, 2), _event(2, 3)
        services.webhooks_pump(now=T0)
        # a2 waits behind a1; account 2 is not held up.
        assert rx.event_ids() == [a1.event_id, b1.event_id]
        assert Delivery.objects.get(event=a2).attempts_count == 0
        services.webhooks_pump(now=T0 + dt.timedelta(seconds=30))
    assert rx.event_ids() == [a1.event_id, b1.event_id, a1.event_id, a2.event_id]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_an_endpoint_failing_repeatedly_is_disabled_and_admins_are_emailed(admin_user, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    with Receiver(lambda body: 503) as rx:
        endpoint = _endpoint(admin_user, rx.url)
        for account in (1, 2, 3, 4):
            _event(account, account)
        with django_capture_on_commit_callbacks(execute=True):
            services.webhooks_pump(now=T0)
        endpoint.refresh_from_db()
        # Three accounts were tried (one failure each); the third disabled it before the fourth went.
        assert len(rx.requests) == 3
        assert (endpoint.is_active, endpoint.consecutive_failures) == (False, 3)
        assert endpoint.disabled_reason == "3 failed deliveries in a row."
        assert services.webhooks_pump(now=T0 + dt.timedelta(hours=1)) == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@x.test"]
    assert mail.outbox[0].subject == f"Recur webhook endpoint disabled: {rx.url}"
    # Enabled again, the four deliveries go out.
    with Receiver() as rx2:
        Endpoint.objects.filter(pk=endpoint.pk).update(url=rx2.url)
        services.endpoint_set_active(endpoint=endpoint, actor=admin_user, active=True)
        assert services.webhooks_pump() == 4
    assert Delivery.objects.filter(status="succeeded").count() == 4


def test_after_three_days_a_delivery_fails_and_the_next_one_goes(admin_user):
    with Receiver(lambda body: 200 if body["data"]["id"] == 2 else 500) as rx:
        _endpoint(admin_user, rx.url)
        first, second = _event(1, 1), _event(1, 2)
        services.webhooks_pump(now=T0)
        services.webhooks_pump(now=T0 + dt.timedelta(days=3))
    assert Delivery.objects.get(event=first).status == "failed"
    assert Delivery.objects.get(event=second).status == "succeeded"
    assert rx.event_ids() == [first.event_id, first.event_id, second.event_id]


def test_resend_sends_a_delivered_event_again(admin_user, finance_user):
    with Receiver() as rx:
        _endpoint(admin_user, rx.url)
        event = _event(5)
        services.webhooks_pump(now=T0)
        delivery = Delivery.objects.get()
        with pytest.raises(services.NotAllowed, match="Only an Admin can configure webhooks."):
            services.webhook_delivery_resend(delivery=delivery, actor=finance_user)
        services.webhook_delivery_resend(delivery=delivery, actor=admin_user, now=T0 + dt.timedelta(minutes=5))
        delivery.refresh_from_db()
        assert delivery.status == "pending"
        with pytest.raises(services.InvalidTransition, match="This delivery is still pending"):
            services.webhook_delivery_resend(delivery=delivery, actor=admin_user)
        services.webhooks_pump(now=T0 + dt.timedelta(minutes=5))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts_count) == ("succeeded", 2)
    assert rx.event_ids() == [event.event_id, event.event_id]


def test_endpoints_get_their_types_from_their_creation_on(admin_user):
    _event(1, 1)
    with Receiver() as rx:
        _endpoint(admin_user, rx.url, types=["invoice.paid"])
        _event(1, 2, type="invoice.posted")
        paid = _event(1, 3, type="invoice.paid")
        services.webhooks_pump(now=T0)
        services.webhooks_pump(now=T0)
    assert rx.event_ids() == [paid.event_id]
    assert Delivery.objects.count() == 1


@pytest.mark.parametrize("url, message", [
    ("file:///etc/passwd", "Enter an http:// or https:// URL."),
    ("ftp://example.com/x", "Enter an http:// or https:// URL."),
    ("", "Enter an http:// or https:// URL."),
])
def test_only_http_urls_are_accepted(admin_user, url, message):
    with pytest.raises(services.ValidationFailed) as exc:
        services.endpoint_create(actor=admin_user, data={"url": url})
    assert exc.value.fields == {"url": [message]}


def test_unknown_event_types_and_non_admins_are_refused(admin_user, finance_user):
    with pytest.raises(services.ValidationFailed) as exc:
        services.endpoint_create(actor=admin_user, data={"url": "https://x.test/h", "event_types": ["invoice.eaten"]})
    assert exc.value.fields == {"event_types": ["Unknown event type: invoice.eaten."]}
    with pytest.raises(services.NotAllowed):
        services.endpoint_create(actor=finance_user, data={"url": "https://x.test/h"})


def test_a_refused_connection_is_a_failed_attempt(admin_user):
    with Receiver() as rx:
        url = rx.url
    _endpoint(admin_user, url)  # the server is gone: nothing listens on that port any more
    _event(1)
    services.webhooks_pump(now=T0)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts_count, delivery.last_status_code) == ("pending", 1, None)
    assert "refused" in delivery.last_error.lower()


def test_body_is_the_events_stable_json(admin_user):
    event = _event(9)
    assert json.loads(services.event_body_bytes(event)) == event.body()
    with pytest.raises(PermissionError):
        Event.objects.filter(pk=event.pk).update(type="x")
