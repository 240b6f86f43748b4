from importlib import import_module
from importlib.util import find_spec

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from billing_site import user_api, user_views, views
from billing_site.api import ApiDocsView, ApiSchemaView, schema_or_sign_in_prompt, token_or_session
from billing_site.roles import ALL, role_required

# The product-to-cash stages, in flow order, each under its own prefix.
STAGES = [
    ("customers", "accounts/"),
    ("catalog", "catalog/"),
    ("quotes", "quotes/"),
    ("contracts", "contracts/"),
    ("invoicing", "invoicing/"),
    ("payments", "payments/"),
    ("accounting", "accounting/"),
    # Around the flow: imports every stage, imported by none.
    ("imports", "imports/"),
    # Around the flow, not a stage: the events' webhooks (and the events API).
    ("webhooks", "webhooks/"),
]

api_router = DefaultRouter()
user_api.register(api_router)
api_extra: list = []
for app, _prefix in STAGES:
    if find_spec(f"{app}.api"):
        module = import_module(f"{app}.api")
        if hasattr(module, "register"):
            module.register(api_router)
        api_extra += getattr(module, "urlpatterns", [])

api_patterns = [
    path("auth/token/", views.ApiTokenView.as_view(), name="api-token"),
    path("schema/", ApiSchemaView.as_view(), name="schema"),
    *api_extra,
    path("", include(api_router.urls)),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("language/", views.language_set, name="language-set"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/",
        role_required(ALL)(auth_views.PasswordChangeView.as_view()),
        name="password_change",
    ),
    path(
        "password/done/",
        role_required(ALL)(auth_views.PasswordChangeDoneView.as_view()),
        name="password_change_done",
    ),
    path("activity/", views.activity, name="activity"),
    path("search/", views.search, name="search"),
    path("users/", user_views.user_list, name="user-list"),
    path("users/invite/", user_views.user_invite, name="user-invite"),
    path("users/<int:pk>/", user_views.user_detail, name="user-detail"),
    path("users/<int:pk>/active/", user_views.user_active, name="user-active"),
    path("users/<int:pk>/revoke-token/", user_views.token_revoke, name="token-revoke"),
    path("me/token/", user_views.my_token, name="my-token"),
    # The link of an invitation e-mail: choose a password (public, the token is the credential).
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_patterns, "api"), namespace="api")),
    path("api/schema/", token_or_session(schema_or_sign_in_prompt(role_required(ALL)(SpectacularAPIView.as_view()))),
         name="api-schema"),
    # The split view serves its script from a URL (?script), so the docs need no inline script (CSP).
    # Public: the page holds no data; the schema it loads takes a session or Authorize → `Token <key>`.
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
]

for app, prefix in STAGES:
    if find_spec(f"{app}.urls"):
        urlpatterns.append(path(prefix, include(f"{app}.urls")))

handler404 = "billing_site.views.not_found"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
