"""Users in a real browser: an Admin invites a Sales rep, then makes them Finance and deactivates them."""

import pytest
from django.contrib.auth import get_user_model

from billing_site.roles import Role
from conftest import make_user
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_invite_change_role_and_deactivate(page):
    make_user("b-boss", Role.ADMIN)
    login(page, "b-boss", "pw-b-boss")
    page.click(".usermenu >> text=Users")
    page.click("#invite")
    page.fill("#id_username", "leo")
    page.fill("#id_email", "leo@example.com")
    page.select_option("#id_role", "Sales")
    page.click("button[type=submit] >> text=Invite")
    page.wait_for_selector("text=leo was invited")
    page.select_option("#id_role", "Finance")
    page.click("#save-role")
    page.wait_for_selector("text=Role saved.")
    page.click("#deactivate")
    page.wait_for_selector("text=User deactivated")
    shot(page, "users-detail")
    leo = get_user_model().objects.get(username="leo")
    assert (leo.is_active, list(leo.groups.values_list("name", flat=True))) == (False, ["Finance"])
