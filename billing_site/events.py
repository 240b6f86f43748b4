"""The domain-event outbox (DESIGN §2 "Events").

A service that changes something an integration cares about calls `event_record` inside its own
transaction: the event exists if and only if the change committed. Nothing is sent inline; after
commit the `event_committed` signal tells listeners (the webhooks app) that the outbox grew, and the
events API lets clients poll with `?after=<sequence>`.

Every event has the same JSON shape (`Event.body`):

    {"id": "evt_…", "sequence": 42, "type": "invoice.posted", "created_at": "2026-01-31T09:00:00Z",
     "account_id": 7, "data": {...}}

`data` holds ids, numbers, states and amounts as strings at the currency's precision, never objects
the client would have to fetch before acting.
"""

import json
import secrets
from decimal import Decimal

from django.db import connection, transaction
from django.dispatch import Signal
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from billing_site import clock
from billing_site.models import Event
from billing_site.money import round_money

# The catalogue: every type a service may record, with what it means. docs/api.md lists the same.
EVENT_TYPES: dict[str, Promise] = {
    "account.updated": _("An account's details or status changed."),
    "account.credit_hold_changed": _("An account was put on credit hold or released from it."),
    "quote.approved": _("A quote was approved (by Finance, or with no approval needed)."),
    "quote.accepted": _("The customer accepted a quote."),
    "order.activated": _("An order was activated: its contract and subscriptions exist."),
    "contract.amended": _("An amendment order changed a contract."),
    "contract.renewed": _("A contract was renewed into a new contract."),
    "contract.cancelled": _("A contract was cancelled."),
    "invoice.posted": _("An invoice was posted: it has a number and is due."),
    "invoice.paid": _("An invoice's balance reached zero."),
    "invoice.overdue": _("A posted invoice passed its due date unpaid (dunning started)."),
    "credit_note.posted": _("A credit note was posted."),
    "payment.received": _("A payment was recorded."),
    "payment.refunded": _("A payment was refunded (in part or in full)."),
    "payment.failed": _("A charge of a payment method was declined or failed."),
    "invoice_run.completed": _("An invoice run finished."),
}

EVENT_TYPE_CHOICES = [(t, t) for t in EVENT_TYPES]

# Sent once after each transaction that recorded events commits (args: event_ids, always [] since
# listeners read the outbox after their cursor; a seed or a run recording thousands of events in one
# transaction announces them once, not once per event).
event_committed = Signal()


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _announce() -> None:
    event_committed.send(sender=Event, event_ids=[])


def _announce_after_commit() -> None:
    """Announce the outbox grew when the current transaction commits, once per transaction."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(hook[1] is _announce for hook in connection.run_on_commit):
        return
    transaction.on_commit(_announce)


def event_record(*, type: str, account_id: int | None, payload: dict, now=None) -> Event:
    """Append one event to the outbox in the caller's transaction; listeners hear of it after commit."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}: add it to billing_site.events.EVENT_TYPES.")
    event = Event.objects.create(
        event_id="evt_" + secrets.token_hex(12),
        type=type,
        account_id=account_id,
        payload=_plain(payload),
        created_at=now or clock.now(),
    )
    _announce_after_commit()
    return event


def events_record_many(events: list[tuple[str, int | None, dict]], *, now=None) -> int:
    """Append many events at once (a run posting thousands of invoices); one signal after commit.
    Returns how many were recorded. On PostgreSQL the rows are copied (COPY), not built as models."""
    now = now or clock.now()
    for type_, _account, _payload in events:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"Unknown event type {type_!r}: add it to billing_site.events.EVENT_TYPES.")
    if not events:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(
            "COPY billing_site_event (event_id, type, account_id, payload, created_at) FROM STDIN"
        ) as copy:
            for t, a, p in events:
                copy.write_row(("evt_" + secrets.token_hex(12), t, a, json.dumps(_plain(p)), now))
    else:
        Event.objects.bulk_create(
            [Event(event_id="evt_" + secrets.token_hex(12), type=t, account_id=a, payload=_plain(p), created_at=now)
             for t, a, p in events],
            batch_size=1000,
        )
    _announce_after_commit()
    return len(events)


def fields_of(obj, *names: str) -> dict:
    """An event's `data` from an object's attributes: `*_amount` fields at the currency's precision
    (the object's `currency`), dates in ISO format, `id` as the object's primary key."""
    currency = getattr(obj, "currency", None)
    data = {}
    for name in names:
        value = obj.pk if name == "id" else getattr(obj, name)
        if name.endswith("_amount") and value is not None and currency:
            value = str(round_money(value, currency))
        data[name] = _plain(value)
    return data


def events_after(*, after: int = 0, types: list[str] | None = None, account_id: int | None = None):
    """Events with a sequence greater than `after`, oldest first."""
    qs = Event.objects.filter(id__gt=after).order_by("id")
    if types:
        qs = qs.filter(type__in=types)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    return qs
