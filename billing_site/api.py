"""API kernel: one error format, pagination, Idempotency-Key on POST, and the base viewset."""

import hashlib
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from billing_site.errors import DomainError, ValidationFailed
from billing_site.models import IdempotencyRecord
from billing_site.permissions import RolePermission
from billing_site.roles import ALL


def _flatten(detail) -> list[str]:
    if isinstance(detail, list):
        out = []
        for item in detail:
            out.extend(_flatten(item))
        return out
    if isinstance(detail, dict):
        out = []
        for v in detail.values():
            out.extend(_flatten(v))
        return out
    return [str(detail)]


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}


def _first_field_error(fields: dict) -> str:
    """The top-level message of a field error: its reason, named by the field ("amount: Only €75.00 is open")."""
    for field, messages in fields.items():
        if messages:
            return f"{field}: {messages[0]}"
    return str(_("Some fields are invalid."))


def exception_handler(exc, context):
    """Every API error has the shape {"error": {"code", "message", "fields"}}; the message carries the reason."""
    if isinstance(exc, DomainError):
        message = exc.message
        if exc.fields and str(message) == str(ValidationFailed.default_message):
            message = _first_field_error(exc.fields)
        return Response(error_body(exc.code, message, exc.fields), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = {k: [str(m) for m in v] for k, v in getattr(exc, "message_dict", {}).items()}
        exc = exceptions.ValidationError(fields or exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            fields = {k: _flatten(v) for k, v in detail.items() if k != "non_field_errors"}
            general = _flatten(detail.get("non_field_errors", []))
        else:
            fields, general = {}, _flatten(detail)
        message = " ".join(general) or _first_field_error(fields)
        response.data = error_body("invalid", message, fields)
    else:
        code = getattr(exc, "default_code", "error")
        detail = getattr(exc, "detail", str(exc))
        response.data = error_body(code, " ".join(_flatten(detail)))
    return response


class _Replay(Exception):
    def __init__(self, response):
        self.response = response


class IdempotentMixin:
    """POST with an `Idempotency-Key`: the same key and body replay the first response; the same key
    with another body gets 409. The record is claimed by a unique constraint before the work runs,
    so two concurrent requests with one key cannot both execute."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._idempotency = None
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return
        if len(key) > 255:
            raise exceptions.ValidationError({"Idempotency-Key": [_("At most 255 characters.")]})
        body_hash = hashlib.sha256(request._request.body).hexdigest()
        path = request.path
        try:
            with transaction.atomic():
                self._idempotency = IdempotencyRecord.objects.create(
                    key=key, user=request.user, method=request.method, path=path, body_hash=body_hash
                )
            return
        except IntegrityError:
            record = IdempotencyRecord.objects.get(user=request.user, key=key)
        if record.body_hash != body_hash or record.path != path:
            raise _IdempotencyConflict(_("This Idempotency-Key was already used with a different request."))
        if record.status_code is None:
            raise _IdempotencyConflict(_("A request with this Idempotency-Key is still being processed."))
        replay = Response(status=record.status_code)
        replay["Idempotency-Replayed"] = "true"
        replay._replay_content = (bytes(record.response_body or b""), record.content_type)
        raise _Replay(replay)

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        replay = getattr(response, "_replay_content", None)
        if replay is not None:
            from django.http import HttpResponse

            content, content_type = replay
            http = HttpResponse(content, status=response.status_code, content_type=content_type)
            http["Idempotency-Replayed"] = "true"
            return http
        record = getattr(self, "_idempotency", None)
        if record is not None:
            if response.status_code >= 500:
                record.delete()  # a server error is not a result: let the client retry with the key
            else:
                response.render()
                IdempotencyRecord.objects.filter(pk=record.pk).update(
                    status_code=response.status_code,
                    response_body=response.content,
                    content_type=response.get("Content-Type", ""),
                )
        return response


class _IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_conflict"


class RecurViewSet(IdempotentMixin, viewsets.GenericViewSet):
    """Base viewset: role permission (`read_roles`/`write_roles`), idempotent POST."""


class RecurModelViewSet(IdempotentMixin, viewsets.ModelViewSet):
    pass


class RecurReadOnlyViewSet(IdempotentMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ApiSchemaView(SpectacularAPIView):
    """The OpenAPI schema for token clients (`GET /api/v1/schema/`, `?format=json`); any role."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [RolePermission]
    read_roles = write_roles = ALL


_SUMMARY_CLASSES: dict[tuple[type, tuple[str, ...]], type] = {}


def summary_serializer_class(base: Any, expandable: tuple[str, ...]) -> type:
    """The list's item serializer: `base` documented as `<Model>Summary`, its expandable fields optional.

    One class per (base, fields), so the schema sees one component per list."""
    key = (base, expandable)
    if key not in _SUMMARY_CLASSES:
        name = f"{base.Meta.model.__name__}SummarySerializer"
        _SUMMARY_CLASSES[key] = type(name, (base,), {"expandable_fields": expandable, "__module__": base.__module__})
    return _SUMMARY_CLASSES[key]


class SummaryListMixin:
    """List pages answer a summary: the nested collections named in `list_expandable` (name → the
    prefetches it needs) are left out of each item unless `?expand=` names them (`?expand=lines`);
    the detail endpoint always has them. A page then stays small whatever the documents hold, and the
    list runs no query for what it does not show."""

    list_expandable: dict[str, tuple[str, ...]] = {}
    action: str | None  # set by the viewset it is mixed into
    request: Any

    def expansions(self) -> set[str]:
        """What this request shows: everything on detail and actions, only what `?expand=` names on a list."""
        if getattr(self, "swagger_fake_view", False):
            return set()
        if self.action != "list":
            return set(self.list_expandable)
        raw = self.request.query_params.get("expand", "")
        names = {n.strip() for n in raw.split(",") if n.strip()}
        unknown = sorted(names - set(self.list_expandable))
        if unknown:
            raise ValidationFailed(fields={"expand": [
                _("Unknown expansion: %(names)s. Choose from: %(choices)s.")
                % {"names": ", ".join(unknown), "choices": ", ".join(sorted(self.list_expandable))}
            ]})
        return names

    def with_expansions(self, queryset):
        lookups = [lookup for name in sorted(self.expansions()) for lookup in self.list_expandable[name]]
        return queryset.prefetch_related(*lookups) if lookups else queryset

    def get_queryset(self):
        return self.with_expansions(super().get_queryset())

    def get_serializer(self, *args, **kwargs):
        if self.action != "list" or not self.list_expandable:
            return super().get_serializer(*args, **kwargs)
        serializer_class = summary_serializer_class(self.get_serializer_class(), tuple(sorted(self.list_expandable)))
        kwargs.setdefault("context", self.get_serializer_context())
        serializer = serializer_class(*args, **kwargs)
        if getattr(self, "swagger_fake_view", False):
            return serializer  # the schema documents every field, the expandable ones as optional
        item = getattr(serializer, "child", serializer)
        for name in set(self.list_expandable) - self.expansions():
            item.fields.pop(name, None)
        return serializer
