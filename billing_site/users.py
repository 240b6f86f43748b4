"""Users and roles managed in the product (DESIGN §1): an Admin invites, changes roles, deactivates.

A user holds exactly one of the three roles (an auth Group). Nobody changes their own role or
deactivates themselves, so the last Admin cannot lock everyone out by mistake. An invited user
gets no password: the e-mail carries a one-time set-password link (Django's reset token, which
stops working once a password is set). API tokens (one per user) are listed and revocable: an
Admin revokes anyone's, a user their own.
"""

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from billing_site.audit import audit_record
from billing_site.errors import InvalidTransition, ValidationFailed
from billing_site.roles import Role, has_role, user_roles

User = get_user_model()
USERNAME_RE = re.compile(r"^[\w.@+-]{1,150}$")


class NotAllowed(ValidationFailed):
    code = "forbidden"
    status_code = 403


def _require_admin(actor) -> None:
    if actor is not None and not has_role(actor, {Role.ADMIN}):
        raise NotAllowed(_("Only an Admin can manage users."))


def _clean_role(role) -> Role:
    try:
        return Role(role) if not isinstance(role, Role) else role
    except ValueError:
        by_name = {r.value.lower(): r for r in Role}
        if str(role).lower() in by_name:
            return by_name[str(role).lower()]
        raise ValidationFailed(fields={"role": [_("Choose Finance, Sales or Admin.")]}) from None


def user_role(user) -> Role | None:
    """The user's one role (a superuser without a group counts as Admin)."""
    names = set(user.groups.values_list("name", flat=True))
    for role in (Role.ADMIN, Role.FINANCE, Role.SALES):
        if role.value in names:
            return role
    return Role.ADMIN if user.is_superuser else None


def _apply_role(user, role: Role) -> None:
    from billing_site.roles import roles_sync_permissions

    if Group.objects.filter(name__in=[r.value for r in Role]).count() < len(Role):
        roles_sync_permissions()
    user.groups.remove(*Group.objects.filter(name__in=[r.value for r in Role]))
    user.groups.add(Group.objects.get(name=role.value))
    # Admins use the Django admin too; the others do not.
    user.is_staff = role == Role.ADMIN
    user.save(update_fields=["is_staff"])
    user._recur_roles = None


def set_password_link(user, base_url: str = "") -> str:
    """The one-time link that lets the user choose a password."""
    path = reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)})
    return (base_url or settings.SITE_URL).rstrip("/") + path


@transaction.atomic
def user_invite(*, actor, username: str, email: str, role, first_name: str = "", last_name: str = "",
                password: str | None = None, send_email: bool = True, base_url: str = "") -> AbstractUser:
    """Create a user with a role; without a password, e-mail them a link to set one."""
    _require_admin(actor)
    errors: dict = {}
    username = (username or "").strip()
    email = (email or "").strip()
    if not USERNAME_RE.match(username):
        errors["username"] = [_("Use at most 150 letters, digits and @/./+/-/_ characters.")]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("A user with this username already exists.")]
    if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email) or len(email) > 254:
        errors["email"] = [_("Enter a valid e-mail address.")]
    elif User.objects.filter(email__iexact=email).exists():
        errors["email"] = [_("A user with this e-mail address already exists.")]
    if len(first_name) > 150 or len(last_name) > 150:
        errors["first_name"] = [_("At most 150 characters.")]
    try:
        role = _clean_role(role)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    user = User.objects.create_user(username=username, email=email, first_name=first_name.strip(),
                                    last_name=last_name.strip(), password=password)
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    _apply_role(user, role)
    audit_record(obj=user, action="invited", actor=actor, actor_label="" if actor else "command", to_state=role.value)
    if send_email and password is None:
        link = set_password_link(user, base_url)
        subject = _("Your Recur account")
        body = _("Hello,\n\nAn account was made for you on Recur (user name: %(username)s, role: %(role)s).\n"
                 "Choose your password here (the link works once):\n%(link)s\n") % {
            "username": username, "role": role.label, "link": link}
        transaction.on_commit(lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email]))
    return user


@transaction.atomic
def user_set_role(*, actor, user, role) -> AbstractUser:
    """Give a user another role (never one's own)."""
    _require_admin(actor)
    role = _clean_role(role)
    user = User.objects.select_for_update().get(pk=user.pk)
    if actor is not None and user.pk == actor.pk:
        raise InvalidTransition(_("You cannot change your own role: ask another Admin."))
    before = user_role(user)
    if before == role:
        return user
    _apply_role(user, role)
    audit_record(obj=user, action="role_changed", actor=actor, from_state=before.value if before else "", to_state=role.value)
    return user


@transaction.atomic
def user_set_active(*, actor, user, active: bool) -> AbstractUser:
    """Deactivate a user (they can no longer sign in and their API token is revoked) or reactivate one."""
    _require_admin(actor)
    user = User.objects.select_for_update().get(pk=user.pk)
    if actor is not None and user.pk == actor.pk:
        raise InvalidTransition(_("You cannot deactivate yourself: ask another Admin."))
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        Token.objects.filter(user=user).delete()
    audit_record(obj=user, action="reactivated" if active else "deactivated", actor=actor,
                 from_state="inactive" if active else "active", to_state="active" if active else "inactive")
    return user


def tokens_visible_to(actor):
    """API tokens an actor may see: every one for an Admin, else only their own."""
    qs = Token.objects.select_related("user").order_by("user__username")
    if Role.ADMIN in user_roles(actor):
        return qs
    return qs.filter(user=actor)


@transaction.atomic
def token_revoke(*, actor, user) -> bool:
    """Revoke a user's API token: an Admin anyone's, a user their own. True if there was one."""
    if actor is not None and actor.pk != user.pk and Role.ADMIN not in user_roles(actor):
        raise NotAllowed(_("Only an Admin can revoke another user's token."))
    deleted, _rows = Token.objects.filter(user=user).delete()
    if deleted:
        audit_record(obj=user, action="token_revoked", actor=actor)
    return bool(deleted)
