"""A token client reads the API docs in a browser with no session: Authorize with `Token <key>`."""

import pytest
from rest_framework.authtoken.models import Token

from billing_site.roles import Role
from conftest import make_user
from tests.browser.conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_swagger_page_loads_the_schema_with_a_token_and_no_session(page):
    key = Token.objects.create(user=make_user("docs-api", Role.FINANCE)).key
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(page.base_url + "/api/docs/")
    assert page.url == page.base_url + "/api/docs/"  # no detour through the login page
    page.click("button.authorize")
    page.fill(".auth-container input[type=text]", f"Token {key}")
    page.click(".auth-btn-wrapper button.authorize")
    page.click(".auth-btn-wrapper button.btn-done")
    # The schema was fetched again with the header: the operations and the title show.
    page.wait_for_selector("#operations-accounts-accounts_list")
    assert "Recur API" in page.inner_text(".information-container")
    shot(page, "api-docs-token")
    assert violations == []
