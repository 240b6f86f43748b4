"""The events API: `GET /api/v1/events/?after=<sequence>` for clients that poll instead of receiving webhooks."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.exceptions import ValidationError

from billing_site.api import RecurViewSet
from billing_site.events import EVENT_TYPES, events_after
from billing_site.models import Event
from billing_site.roles import FINANCE_ADMIN


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(help_text=_("Stable event id (evt_…): deduplicate on it."))
    sequence = serializers.IntegerField(help_text=_("Position in the outbox; pass the last one seen as `after`."))
    type = serializers.ChoiceField(choices=sorted(EVENT_TYPES))
    created_at = serializers.CharField(help_text=_("ISO 8601 instant, UTC."))
    account_id = serializers.IntegerField(allow_null=True)
    data = serializers.DictField(help_text=_("The object the event is about: ids, numbers, states, amounts as strings."))

    def to_representation(self, instance):
        return instance.body()


class EventViewSet(mixins.ListModelMixin, RecurViewSet):
    """Domain events, oldest first. Poll with `?after=<sequence of the last event you processed>`."""

    serializer_class = EventSerializer
    read_roles = write_roles = FINANCE_ADMIN
    filter_backends: list = []

    def get_queryset(self):
        params = self.request.query_params
        try:
            after = int(params.get("after") or 0)
            account = int(params["account"]) if params.get("account") else None
        except ValueError as exc:
            raise ValidationError({"after": [_("Enter a whole number.")]}) from exc
        types = [t for t in params.get("type", "").split(",") if t]
        unknown = [t for t in types if t not in EVENT_TYPES]
        if unknown:
            raise ValidationError({"type": [_("Unknown event type: %(types)s.") % {"types": ", ".join(unknown)}]})
        return events_after(after=after, types=types, account_id=account)

    @extend_schema(
        operation_id="events_list",
        parameters=[
            OpenApiParameter("after", int, description="Only events with a greater sequence (default 0)."),
            OpenApiParameter("type", str, description="Comma-separated event types, e.g. invoice.posted,invoice.paid."),
            OpenApiParameter("account", int, description="Only the events of this account."),
        ],
        examples=[OpenApiExample("An invoice posted", response_only=True, value={
            "count": 1, "count_capped_at": None, "next": None, "previous": None, "results": [{
                "id": "evt_5f0c2a9d1e7b4c3a8f6e2d10", "sequence": 42, "type": "invoice.posted",
                "created_at": "2026-12-01T08:00:03Z", "account_id": 7,
                "data": {"id": 11, "number": "INV000001", "status": "posted", "currency": "EUR", "total_amount": "1200.00"}}]})],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


def register(router) -> None:
    router.register("events", EventViewSet, basename="event")


__all__ = ["Event", "EventViewSet", "register"]
