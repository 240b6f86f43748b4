"""Webhook writes: endpoints (Admin only), fanning the outbox out to deliveries, attempts, resends.

How a delivery goes out:
- `webhook_events_fanout` reads the outbox after each endpoint's cursor and writes one Delivery per
  matching event (the unique (endpoint, event) constraint makes a second fan-out a no-op);
- `webhook_deliveries_process` sends what is due. Per endpoint and account, deliveries go in event
  order: one waits while an earlier one of the same account is still pending. A delivery is claimed
  with a conditional UPDATE of its lease, so two workers never send it at once, and the HTTP call
  runs outside any transaction;
- a failure (no 2xx answer, a timeout, a refused connection) is tried again after 30 s, 1, 2, 4 …
  minutes (doubling, at most every 6 hours) until three days after the delivery was created; then it
  fails for good and the account's next delivery goes. WEBHOOK_DISABLE_AFTER_FAILURES failures in a
  row disable the endpoint and e-mail the admins; its deliveries wait until an Admin enables it.
"""

import datetime as dt
import json
import secrets
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import InvalidTransition, NotFound, ValidationFailed
from billing_site.events import EVENT_TYPES
from billing_site.models import Event
from billing_site.roles import Role, has_role
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, http_url
from webhooks.signing import SIGNATURE_HEADER, signature_header

RETRY_WINDOW = dt.timedelta(days=3)
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 6 * 3600
LEASE = dt.timedelta(seconds=120)
MAX_EVENT_TYPES = len(EVENT_TYPES)


class NotAllowed(ValidationFailed):
    code = "forbidden"
    status_code = 403


def _require_admin(actor) -> None:
    if actor is not None and not has_role(actor, {Role.ADMIN}):
        raise NotAllowed(_("Only an Admin can configure webhooks."))


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the n-th failed attempt: 30 s, 60 s, 120 s … doubling, at most 6 hours."""
    return dt.timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS))


def _clean(data: dict) -> dict:
    errors: dict = {}
    url = (data.get("url") or "").strip()
    try:
        http_url(url)
    except ValidationError as exc:
        errors["url"] = [str(m) for m in exc.messages]
    if len(url) > 500:
        errors["url"] = [_("At most 500 characters.")]
    types = list(dict.fromkeys(data.get("event_types") or []))
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        errors["event_types"] = [_("Unknown event type: %(types)s.") % {"types": ", ".join(unknown)}]
    description = (data.get("description") or "").strip()
    if len(description) > 200:
        errors["description"] = [_("At most 200 characters.")]
    if errors:
        raise ValidationFailed(fields=errors)
    return {"url": url, "event_types": types, "description": description}


def _new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


@transaction.atomic
def endpoint_create(*, actor, data: dict) -> Endpoint:
    """An Admin adds an endpoint; it receives events recorded from now on."""
    _require_admin(actor)
    clean = _clean(data)
    cursor = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    endpoint = Endpoint.objects.create(
        **clean, secret=_new_secret(), last_event_sequence=cursor,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(obj=endpoint, action="created", actor=actor, to_state="active", message=endpoint.url)
    return endpoint


@transaction.atomic
def endpoint_update(*, endpoint: Endpoint, actor, data: dict) -> Endpoint:
    """Change an endpoint's URL, description or event types."""
    _require_admin(actor)
    clean = _clean(data)
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    changed = sorted(k for k, v in clean.items() if getattr(endpoint, k) != v)
    for key, value in clean.items():
        setattr(endpoint, key, value)
    endpoint.save(update_fields=["url", "event_types", "description"])
    if changed:
        audit_record(obj=endpoint, action="updated", actor=actor, message=", ".join(changed))
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: Endpoint, actor) -> Endpoint:
    """Give the endpoint a new signing secret (the old one stops working at once)."""
    _require_admin(actor)
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.secret = _new_secret()
    endpoint.save(update_fields=["secret"])
    audit_record(obj=endpoint, action="secret_rotated", actor=actor)
    return endpoint


@transaction.atomic
def endpoint_set_active(*, endpoint: Endpoint, actor, active: bool, reason: str = "") -> Endpoint:
    """Enable or disable an endpoint; enabling resets its failure count and sends what waited."""
    _require_admin(actor)
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.is_active == active:
        return endpoint
    endpoint.is_active = active
    endpoint.consecutive_failures = 0
    endpoint.disabled_at = None if active else clock.now()
    endpoint.disabled_reason = "" if active else (reason or _("Disabled by an Admin."))[:300]
    endpoint.save(update_fields=["is_active", "consecutive_failures", "disabled_at", "disabled_reason"])
    audit_record(obj=endpoint, action="enabled" if active else "disabled", actor=actor,
                 from_state="disabled" if active else "active", to_state="active" if active else "disabled")
    if active:
        # What waited while the endpoint was off gets its full retry window again.
        now = clock.now()
        endpoint.deliveries.filter(status=Delivery.Status.PENDING).update(next_attempt_at=now, give_up_at=now + RETRY_WINDOW)
        transaction.on_commit(_pump_later)
    return endpoint


def webhook_events_fanout(*, now: dt.datetime | None = None, batch: int = 1000) -> int:
    """Write the deliveries of outbox events after each endpoint's cursor. Returns how many were made."""
    now = now or clock.now()
    made = 0
    for endpoint_id in Endpoint.objects.values_list("pk", flat=True):
        while True:
            with transaction.atomic():
                endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
                events = list(Event.objects.filter(id__gt=endpoint.last_event_sequence).order_by("id")[:batch])
                if not events:
                    break
                rows = [
                    Delivery(endpoint=endpoint, event=e, ordering_key="" if e.account_id is None else str(e.account_id),
                             next_attempt_at=now, give_up_at=now + RETRY_WINDOW, created_at=now)
                    for e in events if endpoint.wants(e.type)
                ]
                Delivery.objects.bulk_create(rows, ignore_conflicts=True)
                endpoint.last_event_sequence = events[-1].pk
                endpoint.save(update_fields=["last_event_sequence"])
                made += len(rows)
            if len(events) < batch:
                break
    return made


def _earlier_pending():
    return Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"), ordering_key=OuterRef("ordering_key"),
        status=Delivery.Status.PENDING, event_id__lt=OuterRef("event_id"),
    )


def deliveries_due(*, now: dt.datetime):
    """Pending deliveries of active endpoints whose time has come and whose account has no earlier one waiting."""
    return (
        Delivery.objects.filter(status=Delivery.Status.PENDING, endpoint__is_active=True, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .exclude(Exists(_earlier_pending()))
        .order_by("event_id")
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer like any other non-2xx: the delivery failed


_opener = urllib.request.build_opener(_NoRedirect)


def _send(*, endpoint: Endpoint, delivery: Delivery, body: bytes, timestamp: int) -> tuple[int | None, str, str]:
    """POST the body; returns (status code or None, error, first characters of the answer)."""
    request = urllib.request.Request(endpoint.url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": "Recur-Webhooks/1",
        SIGNATURE_HEADER: signature_header(secret=endpoint.secret, body=body, timestamp=timestamp),
        "Recur-Event-Id": delivery.event.event_id,
        "Recur-Event-Type": delivery.event.type,
        "Recur-Delivery-Id": str(delivery.pk),
    })
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, "", response.read(500).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, "", exc.read(500).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, str(reason)[:300] or type(exc).__name__, ""


def event_body_bytes(event: Event) -> bytes:
    """The exact bytes sent (and signed): the event's JSON document."""
    return json.dumps(event.body(), separators=(",", ":"), sort_keys=True).encode()


def webhook_delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> Delivery | None:
    """Send one delivery if it is still pending, due in its account's order and not claimed by another
    worker; record the attempt. Returns the delivery, or None when there was nothing to do."""
    now = now or clock.now()
    waiting = (
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING, endpoint__is_active=True)
        .exclude(Exists(_earlier_pending()))
        .exists()
    )
    if not waiting:
        return None
    # The claim filters on the row's own columns only, so PostgreSQL re-checks them after waiting for a
    # concurrent claim (a join or subquery in the UPDATE would be judged on the old snapshot and let
    # two workers both claim the row).
    claimed = (
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint = delivery.endpoint
    body = event_body_bytes(delivery.event)
    started = time.monotonic()
    status_code, error, excerpt = _send(endpoint=endpoint, delivery=delivery, body=body, timestamp=int(now.timestamp()))
    duration = int((time.monotonic() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not ok and not error:
        error = _("The endpoint answered %(code)s.") % {"code": status_code}
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
        DeliveryAttempt.objects.create(delivery=delivery, at=now, status_code=status_code, error=error[:300],
                                       duration_ms=duration, response_excerpt=excerpt[:500])
        delivery.attempts_count += 1
        delivery.last_status_code = status_code
        delivery.last_error = error[:300]
        delivery.lease_until = None
        if ok:
            delivery.status = Delivery.Status.SUCCEEDED
            delivery.delivered_at = now
            Endpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        else:
            next_at = now + retry_delay(delivery.attempts_count)
            if next_at > delivery.give_up_at:
                delivery.status = Delivery.Status.FAILED
            delivery.next_attempt_at = next_at
            _count_failure(endpoint_id=endpoint.pk, now=now)
        delivery.save()
    return delivery


def _count_failure(*, endpoint_id: int, now: dt.datetime) -> None:
    Endpoint.objects.filter(pk=endpoint_id).update(consecutive_failures=F("consecutive_failures") + 1)
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    if not endpoint.is_active or endpoint.consecutive_failures < limit:
        return
    endpoint.is_active = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = _("%(count)s failed deliveries in a row.") % {"count": endpoint.consecutive_failures}
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    audit_record(obj=endpoint, action="disabled", actor=None, actor_label="webhooks", from_state="active",
                 to_state="disabled", message=endpoint.disabled_reason)
    transaction.on_commit(lambda: _mail_admins_disabled(endpoint))


def admin_emails() -> list[str]:
    """The e-mail addresses of active Admins (and superusers)."""
    users = get_user_model().objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(groups__name=Role.ADMIN.value)).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def _mail_admins_disabled(endpoint: Endpoint) -> None:
    recipients = admin_emails()
    if not recipients:
        return
    subject = _("Recur webhook endpoint disabled: %(url)s") % {"url": endpoint.url}
    body = _(
        "The webhook endpoint %(url)s was disabled after %(reason)s\n"
        "Its deliveries wait until an Admin enables it again on the Webhooks page."
    ) % {"url": endpoint.url, "reason": endpoint.disabled_reason}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=True)


def webhook_deliveries_process(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Send what is due, each account's deliveries in event order. Returns the number of attempts."""
    now = now or clock.now()
    attempts = 0
    while attempts < limit:
        due = list(deliveries_due(now=now).values_list("pk", flat=True)[: limit - attempts])
        if not due:
            break
        sent = 0
        for delivery_id in due:
            if webhook_delivery_attempt(delivery_id=delivery_id, now=now) is not None:
                sent += 1
        attempts += sent
        if not sent:
            break
    return attempts


def webhooks_pump(*, now: dt.datetime | None = None) -> int:
    """Fan out new events, then send what is due (the worker's job; safe to run twice at once)."""
    webhook_events_fanout(now=now)
    return webhook_deliveries_process(now=now)


@transaction.atomic
def webhook_delivery_resend(*, delivery: Delivery, actor, now: dt.datetime | None = None) -> Delivery:
    """Send a delivery again (delivered or failed): it becomes pending now, with a new three-day window."""
    _require_admin(actor)
    now = now or clock.now()
    try:
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    except Delivery.DoesNotExist as exc:
        raise NotFound() from exc
    if delivery.status == Delivery.Status.PENDING:
        raise InvalidTransition(_("This delivery is still pending: it will be tried at %(at)s.")
                                % {"at": delivery.next_attempt_at.isoformat(timespec="seconds")})
    before = delivery.status
    delivery.status = Delivery.Status.PENDING
    delivery.next_attempt_at = now
    delivery.give_up_at = now + RETRY_WINDOW
    delivery.lease_until = None
    delivery.save(update_fields=["status", "next_attempt_at", "give_up_at", "lease_until"])
    audit_record(obj=delivery, action="resent", actor=actor, from_state=before, to_state=delivery.status)
    transaction.on_commit(_pump_later)
    return delivery


def _pump_later() -> None:
    from webhooks.tasks import pump_later

    pump_later()
