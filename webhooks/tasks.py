"""Celery tasks: the webhook pump, run after each commit that recorded events and every minute by beat."""

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="webhooks.tasks.webhooks_pump", acks_late=True)
def webhooks_pump() -> int:
    """Fan new events out to endpoints and send the deliveries that are due."""
    from webhooks.services import webhooks_pump as pump

    return pump()


def pump_later() -> None:
    """Ask a worker to pump; if the broker is down, beat's next pump sends the same deliveries."""
    try:
        webhooks_pump.delay()
    except Exception:  # the broker being unreachable must not fail the request that recorded events
        log.warning("could not enqueue the webhook pump; beat will catch up", exc_info=True)


def on_event_committed(sender, event_ids, **kwargs) -> None:
    """New events: pump now if some endpoint is active (else beat's pump fans them out within the minute)."""
    from webhooks.models import Endpoint

    if Endpoint.objects.filter(is_active=True).exists():
        pump_later()
