"""API kernel: one error format, pagination, Idempotency-Key on POST, and the base viewset."""

import hashlib
import json
import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from billing_site.errors import DomainError, ValidationFailed
from billing_site.models import IdempotencyRecord
from billing_site.permissions import RolePermission
from billing_site.roles import ALL

_ID = re.compile(r"[0-9]{1,18}")  # a bigint: more digits would overflow the database's integer


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
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    if isinstance(exc, (OverflowError, DataError)):
        # A number in the request beyond what the database holds (an id filter of 1e308): the
        # input is wrong, not the server. Writes check their bounds first (`billing_site.limits`).
        return Response(error_body("out_of_range", _("A value in the request is out of range.")), status=400)
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


def _refuse_nul(request) -> None:
    """PostgreSQL text cannot hold NUL characters: one in a query parameter or a JSON body is refused
    here as bad input, not left to fail in the database driver (a 500)."""
    if any("\x00" in value for values in request.query_params.lists() for value in values[1]):
        raise exceptions.ValidationError({"query": [_("NUL characters are not allowed.")]})
    if (request.content_type or "").startswith("application/json"):
        try:
            raw = request._request.body
        except RequestDataTooBig as exc:
            raise RequestTooLarge() from exc
        if b"\x00" in raw or b"\\u0000" in raw:
            raise exceptions.ValidationError({"body": [_("NUL characters are not allowed.")]})


def token_or_session(view):
    """Let a page-style view (the schema, the Swagger UI) accept `Authorization: Token …` as the API
    does, before its role check (`role_required`) looks at `request.user`."""
    from functools import wraps

    from rest_framework.authentication import TokenAuthentication

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            try:
                found = TokenAuthentication().authenticate(request)
            except exceptions.AuthenticationFailed:
                found = None
            if found is not None:
                request.user = found[0]
        return view(request, *args, **kwargs)

    return wrapper


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        super().__init__(_("The request is larger than the limit of %(limit)s MB.") % {"limit": limit})


def _number(value: Decimal) -> str:
    return str(value.normalize()) if value.is_finite() else str(value)


def body_fingerprint(request) -> str:
    """SHA-256 of what the request says: a JSON body as parsed (key order, spacing and `1.0` vs `1.00`
    do not make two requests different), any other body as its bytes."""
    raw = request.body
    if (request.content_type or "").startswith("application/json"):
        try:
            parsed = json.loads(raw, parse_float=Decimal, parse_int=Decimal)
            raw = json.dumps(parsed, sort_keys=True, separators=(",", ":"), default=_number).encode()
        except (ValueError, RecursionError):
            pass  # not valid JSON: the bytes are all there is to compare
    return hashlib.sha256(raw).hexdigest()


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
        # Ids in URLs are numbers: `/invoices/abc/post/` is a 404 in the API's format, not a
        # ValueError deep in an action.
        for name, value in kwargs.items():
            if (name == "pk" or name.endswith("_pk")) and not _ID.fullmatch(str(value)):
                raise exceptions.NotFound()
        _refuse_nul(request)
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return
        if len(key) > 255:
            raise exceptions.ValidationError({"Idempotency-Key": [_("At most 255 characters.")]})
        try:
            body_hash = body_fingerprint(request._request)
        except RequestDataTooBig as exc:
            raise RequestTooLarge() from exc
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
        try:
            return super().handle_exception(exc)
        except BaseException:
            # An unhandled error is not a result: release the claim so the client can retry with
            # the same key, instead of being told "still being processed" forever.
            self._idempotency_release()
            raise

    def _idempotency_release(self) -> None:
        record = getattr(self, "_idempotency", None)
        if record is not None:
            self._idempotency = None
            IdempotencyRecord.objects.filter(pk=record.pk, status_code=None).delete()

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
                self._idempotency_release()  # a server error is not a result: let the client retry
            else:
                try:
                    response.render()
                except BaseException:
                    self._idempotency_release()
                    raise
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


DOCS_SCHEMA_PARAM = "docs"


def schema_or_sign_in_prompt(view):
    """`/api/schema/?docs` for a visitor with neither a session nor a token: instead of the login page,
    a schema with no operations that offers the token scheme, so the docs page shows Authorize."""
    from functools import wraps

    from django.http import JsonResponse

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if DOCS_SCHEMA_PARAM in request.GET and not request.user.is_authenticated:
            spec = settings.SPECTACULAR_SETTINGS
            return JsonResponse({
                "openapi": "3.0.3",
                "info": {"title": spec["TITLE"], "version": spec["VERSION"],
                         "description": "Authorize with `Token <key>` (or sign in) to load the API's operations."},
                "paths": {},
                "components": {"securitySchemes": {"tokenAuth": {
                    "type": "apiKey", "in": "header", "name": "Authorization",
                    "description": 'Token-based authentication with required prefix "Token"'}}},
            })
        return view(request, *args, **kwargs)

    return wrapper


class ApiDocsView(SpectacularSwaggerSplitView):
    """The Swagger UI at `/api/docs/`, open to anyone: the page and its script hold no data. The schema
    it loads (`/api/schema/?docs`) needs a session or a token; without either it is a sign-in prompt,
    so a token client clicks Authorize, enters `Token <key>` and the UI loads the whole schema (and
    calls the API) with that header."""

    def _get_schema_url(self, request):
        return f"{super()._get_schema_url(request)}?{DOCS_SCHEMA_PARAM}"

    def _get_schema_auth_names(self):
        # drf-spectacular injects the authorized credentials into the schema request only for the
        # schemes it names here, and names none while the schema is public (SERVE_PUBLIC); ours is not.
        return ["tokenAuth"]


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
