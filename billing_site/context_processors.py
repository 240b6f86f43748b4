from billing_site.roles import Role, user_roles


def shell(request):
    roles = user_roles(getattr(request, "user", None))
    return {
        "user_roles": sorted(r.value for r in roles),
        "is_finance": bool(roles & {Role.FINANCE, Role.ADMIN}),
        "is_sales": Role.SALES in roles,
        "is_admin": Role.ADMIN in roles,
    }
