"""User pages: Admins invite users, change roles, deactivate, revoke tokens; everyone sees their own token."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from billing_site import users as services
from billing_site.errors import DomainError
from billing_site.forms import form_add_domain_error
from billing_site.pages import refusal_as_message
from billing_site.roles import ALL, Role, role_required

User = get_user_model()
ADMIN = {Role.ADMIN}


class InviteForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("User name"), max_length=150)
    email = forms.EmailField(label=gettext_lazy("E-mail"), max_length=254)
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)


@role_required(ADMIN)
def user_list(request):
    """Every user with their role, state and whether they hold an API token."""
    rows = User.objects.prefetch_related("groups").order_by("-is_active", "username")
    tokens = dict(Token.objects.values_list("user_id", "created"))
    people = [{"user": u, "role": services.user_role(u), "token_created": tokens.get(u.pk)} for u in rows]
    return render(request, "billing_site/users/list.html", {"people": people})


@role_required(ADMIN)
def user_invite(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_invite(actor=request.user, base_url=request.build_absolute_uri("/"), **form.cleaned_data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("%(user)s was invited: an e-mail with a link to set a password is on its way.")
                             % {"user": user.get_username()})
            return redirect("user-detail", pk=user.pk)
    return render(request, "billing_site/users/invite.html", {"form": form})


@role_required(ADMIN)
def user_detail(request, pk: int):
    """One user: change the role, deactivate or reactivate, revoke the API token."""
    person = get_object_or_404(User, pk=pk)
    form = RoleForm(request.POST or None, initial={"role": services.user_role(person)})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_role(actor=request.user, user=person, role=form.cleaned_data["role"])
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Role saved."))
            return redirect("user-detail", pk=person.pk)
    token = Token.objects.filter(user=person).first()
    return render(request, "billing_site/users/detail.html", {
        "person": person, "form": form, "role": services.user_role(person), "token": token,
        "is_self": person.pk == request.user.pk,
    })


@role_required(ADMIN)
@require_POST
def user_active(request, pk: int):
    person = get_object_or_404(User, pk=pk)
    active = request.POST.get("active") == "1"
    with refusal_as_message(request):
        services.user_set_active(actor=request.user, user=person, active=active)
        messages.success(request, _("User reactivated.") if active else _("User deactivated: they can no longer sign in."))
    return redirect("user-detail", pk=person.pk)


@role_required(ALL)
@require_POST
def token_revoke(request, pk: int):
    """Revoke a user's API token (an Admin anyone's, a user their own)."""
    person = get_object_or_404(User, pk=pk)
    with refusal_as_message(request) as outcome:
        revoked = services.token_revoke(actor=request.user, user=person)
    if outcome.refused:
        return redirect("my-token")
    messages.success(request, _("API token revoked.") if revoked else _("There was no API token to revoke."))
    return redirect("user-detail", pk=person.pk) if person.pk != request.user.pk else redirect("my-token")


@role_required(ALL)
def my_token(request):
    """The signed-in user's own API token: when it was made, and a button to revoke it."""
    token = Token.objects.filter(user=request.user).first()
    return render(request, "billing_site/users/my_token.html", {"token": token})
