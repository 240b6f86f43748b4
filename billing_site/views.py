from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.defaults import page_not_found
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response

from billing_site import selectors
from billing_site.roles import ALL, FINANCE_ADMIN, Role, role_required, user_roles
from billing_site.security import LockedOut, lockout_message
from billing_site.services import user_set_language


@role_required(ALL)
def home(request):
    """The dashboard: what this user's role needs to see first."""
    roles = user_roles(request.user)
    context = selectors.dashboard(user=request.user, roles=roles)
    return render(request, "billing_site/home.html", context)


@role_required(ALL)
def search(request):
    """One box for everything: accounts, quotes, orders, contracts, invoices, credit notes, payments."""
    query = request.GET.get("q", "")
    groups = selectors.global_search(query=query, user=request.user, roles=user_roles(request.user))
    return render(request, "billing_site/search.html", {
        "query": query.strip(), "groups": groups, "too_short": 0 < len(query.strip()) < selectors.SEARCH_MIN_LENGTH,
        "min_length": selectors.SEARCH_MIN_LENGTH,
    })


@role_required(FINANCE_ADMIN)
def activity(request):
    """The audit log: every state change, newest first."""
    page = selectors.audit_page(request.GET.get("page"), object_type=request.GET.get("type", ""))
    return render(request, "billing_site/activity.html", {"page": page, "type": request.GET.get("type", "")})


def not_found(request, exception=None):
    """404: the API's error format under /api/, the site's page elsewhere."""
    if request.path.startswith("/api/"):
        from billing_site.api import error_body

        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return page_not_found(request, exception)


@never_cache
def healthz(request):
    """Database and broker reachability; 503 when either is down. No login: for probes, which get
    only ok / error. What is behind it (database vendor, broker transport, errors) is for staff."""
    result = {"database": _check_database(), "broker": _check_broker()}
    ok = all(part["ok"] for part in result.values())
    status = "ok" if ok else "error"
    if not (request.user.is_authenticated and request.user.is_staff):
        return JsonResponse({"status": status}, status=200 if ok else 503)
    result["status"] = status
    return JsonResponse(result, status=200 if ok else 503, json_dumps_params={"indent": 2})


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        return {"ok": False, "vendor": connection.vendor, "error": str(exc)}


def _check_broker() -> dict:
    from django.conf import settings

    from billing_site.celery import app

    url = settings.CELERY_BROKER_URL
    transport = url.split("://", 1)[0]
    try:
        with app.connection_for_write(url) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            channel = conn.default_channel
            if transport.startswith("redis"):
                # kombu connects to Redis lazily: only a command proves the server answers.
                channel.client.ping()
        return {"ok": True, "transport": transport}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "transport": transport, "error": str(exc)}


@require_POST
def language_set(request):
    """Switch the interface language; a signed-in user's choice is saved to their profile."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    response = redirect(next_url)
    if not translation.check_for_language(language) or language not in dict(_languages()):
        messages.error(request, _("Unknown language."))
        return response
    if request.user.is_authenticated:
        user_set_language(user=request.user, language=language)
    translation.activate(language)
    response.set_cookie("django_language", language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


def _languages():
    from django.conf import settings

    return settings.LANGUAGES


class ApiTokenView(ObtainAuthToken):
    """Exchange a username and password for an API token."""

    authentication_classes: list = []
    permission_classes: list = []
    read_roles = write_roles = frozenset(Role)
    public = True

    @extend_schema(
        responses={
            200: inline_serializer("ApiToken", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="Wrong username or password (the error format)."),
            429: OpenApiResponse(description="Locked out after repeated failures, for this username or client address (the error format, code `locked_out`)."),
        }
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except exceptions.ValidationError:
            # The axes backend marks the request it was given (this DRF request) when the username or
            # address is locked out, or has just reached the limit: answer 429, not "wrong password".
            if getattr(request, "axes_locked_out", False):
                raise LockedOut(lockout_message()) from None
            raise
        user = serializer.validated_data["user"]
        # Getting a token is signing in: axes forgets the failures (AXES_RESET_ON_SUCCESS) as on the page.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
