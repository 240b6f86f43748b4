"""Demo webhook: the Admin configured an endpoint for the ERP's invoice and payment events, then disabled
it while the receiver is being set up, so its one delivery (the last invoice or payment event) waits in
its log and the demo never calls out. Idempotent: the endpoint is configured once."""

from __future__ import annotations

from billing_site import clock
from billing_site.models import Event
from webhooks.models import Endpoint
from webhooks.services import endpoint_create, endpoint_set_active, webhook_events_fanout

URL = "https://erp.example.com/hooks/recur"
EVENT_TYPES = ["invoice.posted", "invoice.paid", "payment.received"]


def seed(*, stdout=None, users=None) -> dict:
    if Endpoint.objects.filter(url=URL).exists():
        return {"endpoints": 0, "deliveries": 0}
    admin = (users or {}).get("admin")
    endpoint = endpoint_create(actor=admin, data={
        "url": URL, "description": "ERP: invoices and payments", "event_types": EVENT_TYPES,
    })
    endpoint_set_active(endpoint=endpoint, actor=admin, active=False, reason="Receiver not deployed yet.")
    # The endpoint was configured just before the last of its events, which its log holds.
    last = Event.objects.filter(type__in=EVENT_TYPES).order_by("-id").values_list("id", flat=True).first()
    deliveries = 0
    if last is not None:
        Endpoint.objects.filter(pk=endpoint.pk).update(last_event_sequence=last - 1)
        deliveries = webhook_events_fanout(now=clock.now())
    if stdout is not None:
        stdout.write(f"Webhooks: {URL} configured (disabled), {deliveries} delivery waiting.")
    return {"endpoints": 1, "deliveries": deliveries}
