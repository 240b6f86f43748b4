"""Login throttling (django-axes): who is locked out, how the lock is shown, and the client address.

After `LOGIN_FAILURE_LIMIT` failed sign-ins for one username, or from one client address, further
attempts are refused without checking the password (so a flood costs no hashing) until the lock
expires (`LOGIN_LOCKOUT_MINUTES`) or an Admin lifts it: Django admin → Axes → Access attempts
(delete the row), or `manage.py axes_reset_username <username>` / `manage.py axes_reset_ip <address>`.
"""

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework import exceptions, status


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return _(
        "Too many failed sign-in attempts: sign-in is locked for this user or address for %(minutes)s minutes. "
        "An administrator can lift the lock."
    ) % {"minutes": minutes}


class LockedOut(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out client gets: the API's error format (429) or the sign-in page with the message (429)."""
    from billing_site.api import error_body

    if request.path.startswith("/api/"):
        return JsonResponse(error_body("locked_out", lockout_message()), status=429)
    form = AuthenticationForm(request, initial={"username": (credentials or {}).get("username", "")})
    context = {"form": form, "next": request.POST.get("next", ""), "lockout_message": lockout_message()}
    return render(request, "registration/login.html", context, status=429)


def client_ip(request) -> str | None:
    """The client's address. Behind `LOGIN_TRUSTED_PROXIES` reverse proxies, the address the nearest
    trusted proxy saw (counted from the right of X-Forwarded-For, which a client cannot forge)."""
    request = getattr(request, "_request", request)  # a DRF Request wraps the Django one
    proxies = settings.LOGIN_TRUSTED_PROXIES
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")
