"""Login throttling: repeated failures lock out the username and the client address (django-axes).

Before: 200 wrong passwords then the right one still signed in, on the page and the API.
"""

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from billing_site.roles import Role
from conftest import make_user

pytestmark = pytest.mark.django_db

MESSAGE = (
    "Too many failed sign-in attempts: sign-in is locked for this user or address for 30 minutes. "
    "An administrator can lift the lock."
)
TOKEN_URL = "/api/v1/auth/token/"


def page_login(client, username, password, ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def api_login(username, password, ip="10.0.0.1"):
    return APIClient().post(TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=ip)


def test_200_wrong_passwords_then_the_right_one_is_refused_on_the_page(finance_user):
    client = Client()
    for _ in range(200):
        page_login(client, "fiona", "wrong")
    response = page_login(client, "fiona", "pw-fiona")
    assert response.status_code == 429
    assert MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username="fiona").failures_since_start == 5


def test_200_wrong_passwords_then_the_right_one_is_refused_on_the_api(finance_user):
    for _ in range(200):
        api_login("fiona", "wrong")
    response = api_login("fiona", "pw-fiona")
    assert response.status_code == 429
    assert response.json() == {"error": {"code": "locked_out", "message": MESSAGE, "fields": {}}}


def test_four_failures_are_wrong_passwords_the_fifth_locks():
    make_user("fiona", Role.FINANCE)
    for _ in range(4):
        response = api_login("fiona", "wrong")
        assert response.status_code == 400
        assert response.json()["error"]["message"] == "Unable to log in with provided credentials."
    assert api_login("fiona", "wrong").status_code == 429


def test_the_user_is_locked_from_every_address(finance_user):
    for i in range(5):
        api_login("fiona", "wrong", ip=f"10.0.1.{i}")
    assert api_login("fiona", "pw-fiona", ip="10.9.9.9").status_code == 429


def test_the_address_is_locked_for_every_user(finance_user, sales_user):
    for i in range(5):
        page_login(Client(), f"nobody{i}", "wrong", ip="10.0.0.7")
    assert page_login(Client(), "sam", "pw-sam", ip="10.0.0.7").status_code == 429
    # Another address still signs in.
    assert page_login(Client(), "sam", "pw-sam", ip="10.0.0.8").status_code == 302


def test_a_success_resets_the_count(finance_user):
    for _ in range(2):
        for _ in range(4):
            api_login("fiona", "wrong")
        assert api_login("fiona", "pw-fiona").status_code == 200


def test_an_admin_lifts_the_lock_with_the_command(finance_user):
    for _ in range(5):
        api_login("fiona", "wrong")
    assert api_login("fiona", "pw-fiona", ip="10.2.2.2").status_code == 429
    call_command("axes_reset_username", "fiona")
    call_command("axes_reset_ip", "10.0.0.1")
    assert api_login("fiona", "pw-fiona").status_code == 200


def test_an_admin_sees_and_lifts_the_lock_in_the_admin(finance_user, admin_user):
    for _ in range(5):
        api_login("fiona", "wrong")
    attempt = AccessAttempt.objects.get(username="fiona")
    admin = Client()
    admin.force_login(admin_user)
    listing = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and "fiona" in listing.content.decode()
    response = admin.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert api_login("fiona", "pw-fiona").status_code == 200


def test_the_page_message_is_translated(finance_user):
    client = Client()
    for _ in range(5):
        page_login(client, "fiona", "wrong")
    response = client.post(
        reverse("login"), {"username": "fiona", "password": "pw-fiona"}, REMOTE_ADDR="10.0.0.1", HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 429
    assert "Trop de tentatives de connexion" in response.content.decode()
