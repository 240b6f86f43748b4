"""Users and roles in the product: invite, change role, deactivate, tokens; `createuser --role`."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.http import HttpRequest
from rest_framework.authtoken.models import Token

from billing_site import users
from billing_site.roles import Role, user_roles

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _roles(user):
    user = User.objects.get(pk=user.pk)
    return sorted(r.value for r in user_roles(user))


def test_an_admin_invites_a_user_who_sets_a_password_from_the_email(admin_client, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/users/invite/", {"username": "nina", "email": "nina@example.com",
                                                        "first_name": "Nina", "last_name": "Roy", "role": "Finance"})
    nina = User.objects.get(username="nina")
    assert response.status_code == 302 and response["Location"] == f"/users/{nina.pk}/"
    assert _roles(nina) == ["Finance"]
    assert (nina.has_usable_password(), nina.is_staff, nina.is_active) == (False, False, True)
    [message] = mail.outbox
    assert message.to == ["nina@example.com"] and message.subject == "Your Recur account"
    link = re.search(r"http://testserver(/reset/\S+/)", message.body).group(1)
    client.logout()
    form = client.get(link, follow=True)
    assert b"Choose your password" in form.content
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "Xq7-longer-pass", "new_password2": "Xq7-longer-pass"})
    assert done.status_code == 302 and done["Location"] == "/reset/done/"
    assert client.login(request=HttpRequest(), username="nina", password="Xq7-longer-pass")
    # The link works once.
    client.logout()
    assert b"already used or has expired" in client.get(link, follow=True).content


def test_invite_refuses_bad_input_with_the_reason(admin_user):
    users.user_invite(actor=admin_user, username="nina", email="nina@example.com", role="Sales")
    with pytest.raises(users.ValidationFailed) as exc:
        users.user_invite(actor=admin_user, username="Nina", email="bad", role="Boss")
    assert exc.value.fields == {
        "username": ["A user with this username already exists."],
        "email": ["Enter a valid e-mail address."],
        "role": ["Choose Finance, Sales or Admin."],
    }


def test_roles_change_and_nobody_demotes_or_deactivates_themselves(admin_user, finance_user):
    users.user_set_role(actor=admin_user, user=finance_user, role=Role.ADMIN)
    assert _roles(finance_user) == ["Admin"]
    assert User.objects.get(pk=finance_user.pk).is_staff is True
    users.user_set_role(actor=admin_user, user=finance_user, role="Sales")
    assert _roles(finance_user) == ["Sales"]
    with pytest.raises(users.InvalidTransition, match="You cannot change your own role: ask another Admin."):
        users.user_set_role(actor=admin_user, user=admin_user, role="Sales")
    with pytest.raises(users.InvalidTransition, match="You cannot deactivate yourself: ask another Admin."):
        users.user_set_active(actor=admin_user, user=admin_user, active=False)
    with pytest.raises(users.NotAllowed, match="Only an Admin can manage users."):
        users.user_set_role(actor=User.objects.get(pk=finance_user.pk), user=admin_user, role="Sales")


def test_deactivating_blocks_sign_in_and_revokes_the_token(admin_user, finance_user, client):
    Token.objects.create(user=finance_user)
    users.user_set_active(actor=admin_user, user=finance_user, active=False)
    assert not Token.objects.filter(user=finance_user).exists()
    assert not client.login(request=HttpRequest(), username="fiona", password="pw-fiona")
    users.user_set_active(actor=admin_user, user=finance_user, active=True)
    assert client.login(request=HttpRequest(), username="fiona", password="pw-fiona")


def test_user_pages(admin_client, admin_user, finance_user):
    listing = admin_client.get("/users/").content.decode()
    assert "fiona" in listing and "Finance" in listing
    response = admin_client.post(f"/users/{finance_user.pk}/", {"role": "Sales"})
    assert response.status_code == 302
    assert _roles(finance_user) == ["Sales"]
    own = admin_client.get(f"/users/{admin_user.pk}/").content.decode()
    assert "You cannot change your own role or deactivate yourself" in own and 'id="deactivate"' not in own
    admin_client.post(f"/users/{finance_user.pk}/active/", {"active": "0"})
    assert User.objects.get(pk=finance_user.pk).is_active is False


def test_tokens_admins_revoke_anyones_users_their_own(admin_user, finance_user, sales_user, finance_api):
    Token.objects.create(user=finance_user)
    Token.objects.create(user=sales_user)
    listed = finance_api.get("/api/v1/tokens/").json()["results"]
    assert [(t["username"], len(t["key_prefix"])) for t in listed] == [("fiona", 6)]
    refused = finance_api.delete(f"/api/v1/tokens/{sales_user.pk}/")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "Only an Admin can revoke another user's token."
    assert finance_api.delete(f"/api/v1/tokens/{finance_user.pk}/").status_code == 204
    assert not Token.objects.filter(user=finance_user).exists()
    assert users.token_revoke(actor=admin_user, user=sales_user) is True
    assert not Token.objects.filter(user=sales_user).exists()


def test_users_api_for_admins(admin_user, finance_api):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(admin_user)
    created = api.post("/api/v1/users/", {"username": "omar", "email": "omar@example.com", "role": "Sales"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert (body["username"], body["role"], body["is_active"]) == ("omar", "Sales", True)
    changed = api.post(f"/api/v1/users/{body['id']}/role/", {"role": "Finance"}, format="json")
    assert changed.json()["role"] == "Finance"
    assert api.post(f"/api/v1/users/{body['id']}/deactivate/").json()["is_active"] is False
    own = api.post(f"/api/v1/users/{admin_user.pk}/deactivate/")
    assert own.status_code == 409
    assert own.json()["error"]["message"] == "You cannot deactivate yourself: ask another Admin."
    assert finance_api.get("/api/v1/users/").status_code == 403


def test_createuser_command_gives_the_role_and_a_set_password_link():
    out = io.StringIO()
    call_command("createuser", "paula", "--role", "finance", "--email", "paula@example.com", "--no-email", stdout=out)
    paula = User.objects.get(username="paula")
    assert _roles(paula) == ["Finance"]
    lines = out.getvalue().splitlines()
    assert lines[0] == "Created paula (Finance)."
    assert re.fullmatch(r"Set-password link: http://localhost:8000/reset/\S+/\S+/", lines[1])
    with pytest.raises(CommandError, match="username: A user with this username already exists."):
        call_command("createuser", "paula", "--role", "sales", "--email", "p2@example.com", stdout=io.StringIO())


def test_createuser_reads_a_password_from_stdin(monkeypatch, client):
    monkeypatch.setattr("sys.stdin", io.StringIO("S3cret-enough-pw\n"))
    call_command("createuser", "root2", "--role", "admin", "--email", "r@example.com", "--password-stdin", stdout=io.StringIO())
    assert _roles(User.objects.get(username="root2")) == ["Admin"]
    assert client.login(request=HttpRequest(), username="root2", password="S3cret-enough-pw")
