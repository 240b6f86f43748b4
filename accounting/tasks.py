"""Celery tasks: thin wrappers around the accounting services, safe to run twice (the database
journals each document once).

Invoicing and payments do not import accounting, so posting cannot call the books. Instead the
books listen to the kernel's outbox: after each commit that recorded events (`event_committed`),
`on_event_committed` enqueues a pass when a posted invoice or credit note, a payment or a refund is
among the new events. The beat's pass every ten minutes stays as the safety net (a broker that was
down, a worker killed mid-pass)."""

import logging
import threading
import time

from celery import shared_task

from billing_site import clock

log = logging.getLogger(__name__)

# The events that give the books something to journal.
BOOKS_EVENTS = ("order.activated", "invoice.posted", "credit_note.posted", "payment.received", "payment.refunded")
# A pass runs this many seconds after the commit that asked for it; commits in between ride on it.
PASS_DELAY_SECONDS = 2.0


@shared_task(name="accounting.tasks.books_process", acks_late=True)
def books_process() -> dict:
    """Journal the posted documents not yet in the books and write their revenue schedules."""
    from accounting import services

    return services.books_process(today=clock.today())


class _Trigger:
    """Per process: the last outbox event looked at, and until when a pass is already due."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen: int | None = None
        self.due_until = 0.0

    def reset(self):
        with self.lock:
            self.seen, self.due_until = None, 0.0


trigger = _Trigger()


def _new_books_events() -> bool:
    """Did events the books care about arrive since the last look? (A range scan of the new events.)"""
    from django.db.models import Count, Max, Q

    from billing_site.models import Event

    with trigger.lock:
        seen = trigger.seen
    if seen is None:
        # First look in this process: nothing to compare with, so ask for a pass (a pass with
        # nothing to do costs a few queries) and start watching from the newest event.
        top = Event.objects.order_by("-id").values_list("id", flat=True).first()
        hits = 1
    else:
        figures = Event.objects.filter(id__gt=seen).aggregate(top=Max("id"), hits=Count("id", filter=Q(type__in=BOOKS_EVENTS)))
        top, hits = figures["top"], figures["hits"]
    with trigger.lock:
        if top is not None and (trigger.seen is None or top > trigger.seen):
            trigger.seen = top
    return bool(hits)


def on_event_committed(sender, **kwargs) -> None:
    """After a commit that recorded events: enqueue a books pass if documents to journal arrived."""
    now = time.monotonic()
    with trigger.lock:
        if now < trigger.due_until:
            return  # a pass is already enqueued to run after this commit; it will see it
    if not _new_books_events():
        return
    with trigger.lock:
        trigger.due_until = now + PASS_DELAY_SECONDS
    try:
        books_process.apply_async(countdown=PASS_DELAY_SECONDS)
    except Exception:  # the broker being down must not fail the request that posted; beat catches up
        log.warning("could not enqueue the books pass; beat will catch up", exc_info=True)
