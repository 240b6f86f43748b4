"""DRF permission: the same roles as the pages. A view sets `read_roles` / `write_roles`."""

from rest_framework.permissions import BasePermission

from billing_site.roles import ALL, SAFE_METHODS, has_role


class RolePermission(BasePermission):
    message = "Your role does not allow this operation."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        read = getattr(view, "read_roles", ALL)
        write = getattr(view, "write_roles", read)
        return has_role(request.user, read if request.method in SAFE_METHODS else write)
