"""The three roles (DESIGN §1) and how views declare who may use them.

Roles are auth Groups created by a data migration. A superuser counts as every role. Every view
declares its roles with `@role_required(read=..., write=...)` (or `allowed_roles` on API views);
the role-matrix test walks every URL pattern and checks the declaration is enforced.
"""

from collections.abc import Iterable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    FINANCE = "Finance", _("Finance")
    SALES = "Sales", _("Sales")
    ADMIN = "Admin", _("Admin")


ALL = frozenset(Role)
FINANCE_ADMIN = frozenset({Role.FINANCE, Role.ADMIN})
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def user_roles(user) -> frozenset:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_recur_roles", None)
    if cached is None:
        if user.is_superuser:
            cached = ALL
        else:
            names = set(user.groups.values_list("name", flat=True))
            cached = frozenset(r for r in Role if r.value in names)
        user._recur_roles = cached
    return cached


def has_role(user, roles: Iterable) -> bool:
    return bool(user_roles(user) & frozenset(roles))


def is_finance(user) -> bool:
    return has_role(user, FINANCE_ADMIN)


def role_required(read: Iterable = ALL, write: Iterable | None = None):
    """Require login, then one of `read` roles for safe methods and one of `write` roles otherwise.

    The check runs before the view looks anything up, so a forbidden user learns nothing.
    """
    read_roles = frozenset(read)
    write_roles = frozenset(write) if write is not None else read_roles

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            roles = read_roles if request.method in SAFE_METHODS else write_roles
            if not has_role(request.user, roles):
                raise PermissionDenied(_("Your role does not allow this page."))
            return view(request, *args, **kwargs)

        wrapper.read_roles = read_roles
        wrapper.write_roles = write_roles
        return wrapper

    return decorator


# Which permissions each role's group holds (for the admin and `user.has_perm`); pages and the API
# check roles through `role_required` / `RolePermission`.
STAGE_APP_LABELS = ("customers", "catalog", "quotes", "contracts", "invoicing", "payments")
SALES_WRITE_APPS = ("customers", "quotes")


def roles_sync_permissions(apps=None) -> None:
    """Create the three groups and give each its permissions; safe to run any number of times."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    groups = {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}
    stage = Permission.objects.filter(content_type__app_label__in=STAGE_APP_LABELS)
    groups[Role.ADMIN].permissions.set(Permission.objects.all())
    finance = stage.exclude(codename__startswith="delete_") | Permission.objects.filter(
        content_type__app_label="billing_site", codename="view_auditlog"
    )
    groups[Role.FINANCE].permissions.set(finance)
    sales = stage.filter(codename__startswith="view_") | stage.filter(
        content_type__app_label__in=SALES_WRITE_APPS
    ).exclude(codename__startswith="delete_")
    groups[Role.SALES].permissions.set(sales)
