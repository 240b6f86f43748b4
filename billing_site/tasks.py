import logging

from celery import shared_task

from billing_site import clock

log = logging.getLogger(__name__)


@shared_task(name="billing_site.tasks.ping")
def ping(value: str = "pong") -> str:
    """Answers its argument: used by the worker integration test and health checks."""
    return value


@shared_task(name="billing_site.tasks.heartbeat")
def heartbeat() -> str:
    """Beat's proof of life in the worker log."""
    stamp = clock.now().isoformat()
    log.info("recur heartbeat %s", stamp)
    return stamp
