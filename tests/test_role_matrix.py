"""Walks every URL pattern of the project and checks who may use it.

Anonymous users are sent to the login page (401 on the API); each role gets 403 exactly where the
view's declared roles leave it out, for reads (GET) and writes (POST). A new view without a role
declaration fails this test, so the matrix keeps covering every URL as stages are added.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.views.static import serve

from billing_site.roles import ALL, Role
from conftest import make_user

# URL names anyone may open: signing in, health probes, the language switch, getting an API token.
# The API docs page is an empty shell: the schema it loads needs a session or a token.
PUBLIC = {"login", "logout", "healthz", "language-set", "api:api-token", "password_reset_confirm", "password_reset_complete",
          "api-docs"}
ADMIN_PUBLIC = {"admin:login", "admin:logout", "admin:javascript-catalog", "admin:password_reset"}
DUMMY = {"format": "json", "app_label": "customers"}


def iter_patterns(resolver=None, namespace=None):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or namespace
            if namespace and pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}"
            yield from iter_patterns(pattern, ns)
        elif isinstance(pattern, URLPattern):
            yield namespace, pattern


def pattern_kwargs(pattern: URLPattern) -> dict:
    names = list(pattern.pattern.regex.groupindex)
    return {name: DUMMY.get(name, "999999") for name in names}


def all_routes():
    routes = []
    for namespace, pattern in iter_patterns():
        if pattern.callback is serve:
            continue
        if not pattern.name:
            # Only the admin's catch-all has no name; every project view must have one.
            assert namespace == "admin", f"URL pattern {pattern.pattern} has no name"
            continue
        name = f"{namespace}:{pattern.name}" if namespace else pattern.name
        routes.append((name, reverse(name, kwargs=pattern_kwargs(pattern)), pattern.callback))
    return routes


ROUTES = all_routes()


def declared_roles(callback):
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if hasattr(callback, "read_roles"):
        return callback.read_roles, callback.write_roles
    if view_class is not None and hasattr(view_class, "permission_classes"):
        read = getattr(view_class, "read_roles", ALL)
        return read, getattr(view_class, "write_roles", read)
    return None


def test_the_matrix_covers_the_whole_project():
    names = {name for name, _url, _cb in ROUTES}
    assert {"home", "customers:list", "customers:detail", "api:account-list", "api-schema"} <= names
    undeclared = [
        name
        for name, _url, callback in ROUTES
        if not name.startswith("admin:") and name not in PUBLIC and declared_roles(callback) is None
    ]
    assert undeclared == [], f"views without a role declaration: {undeclared}"


@pytest.fixture
def role_users(db):
    return {role: make_user(f"matrix-{role.value.lower()}", role) for role in Role}


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "url", "callback"), ROUTES, ids=[r[0] for r in ROUTES])
def test_role_matrix(client, role_users, name, url, callback):
    if name in PUBLIC or name in ADMIN_PUBLIC:
        assert client.get(url).status_code not in (401, 403), f"{name} should be public"
        return
    is_api = name.startswith("api:")
    is_admin = name.startswith("admin:")

    response = client.get(url)
    if is_api:
        assert response.status_code == 401, f"anonymous GET {url} → {response.status_code}"
    else:
        assert response.status_code == 302, f"anonymous GET {url} → {response.status_code}"
        login = reverse("admin:login") if is_admin else reverse("login")
        assert response["Location"].startswith(login)

    for role, user in role_users.items():
        client.force_login(user)
        if is_admin:
            response = client.get(url)
            if role == Role.ADMIN:
                assert not (response.status_code == 302 and response["Location"].startswith(reverse("admin:login")))
            else:
                assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
            continue
        read, write = declared_roles(callback)
        for method, allowed in (("get", role in read), ("post", role in write)):
            response = getattr(client, method)(url)
            if allowed:
                assert response.status_code not in (401, 403), f"{role} {method.upper()} {url} → {response.status_code}"
            else:
                assert response.status_code == 403, f"{role} {method.upper()} {url} → {response.status_code}"
        client.logout()
