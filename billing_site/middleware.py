from django.conf import settings
from django.utils import translation


class ContentSecurityPolicyMiddleware:
    """Sends CONTENT_SECURITY_POLICY on every response: scripts, styles and everything else only from
    this site, no inline script or style (the templates keep their scripts and styles in static files;
    `recur.js` does what `onchange=`/`onsubmit=` did), no framing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class UserLanguageMiddleware:
    """A signed-in user's saved language wins over the session cookie and the browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            profile = getattr(user, "profile", None) if hasattr(user, "profile") else None
            if profile is not None and profile.language:
                translation.activate(profile.language)
                request.LANGUAGE_CODE = profile.language
        return self.get_response(request)
