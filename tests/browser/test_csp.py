"""The Content-Security-Policy refuses inline scripts and styles; the pages, HTMX and the small
behaviours of recur.js work under it (no violation in the console, bars keep their widths)."""

from datetime import date

import pytest

from billing_site.roles import Role
from conftest import make_user
from contracts import services as contract_services
from contracts.tests.factories import Catalog, draft_order
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_pages_and_htmx_run_under_the_csp_without_a_violation(page):
    make_user("csp-fin", Role.FINANCE)
    catalog = Catalog()
    seat = catalog.product("team-seat", price="120.00", frequency=1)
    contract = contract_services.order_activate(order=draft_order(catalog=catalog, start=date(2025, 1, 1), products=[(seat, 10)]),
                                                actor=None, today=date(2025, 1, 1))
    violations = []
    page.on("console", lambda msg: violations.append(f"{page.url}: {msg.text}") if "Content Security Policy" in msg.text else None)
    login(page, "csp-fin", "pw-csp-fin")
    for path in ("/", "/accounts/", "/quotes/", f"/contracts/{contract.pk}/", "/invoicing/", "/payments/", "/payments/reports/",
                 "/api/docs/"):
        page.goto(page.base_url + path)
        page.wait_for_load_state("networkidle")
    # The timeline bars get their positions from data attributes through recur.js, not inline styles.
    page.goto(f"{page.base_url}/contracts/{contract.pk}/")
    width = page.eval_on_selector(".strip span", "el => el.style.width")
    assert width.endswith("%") and float(width[:-1]) > 0
    shot(page, "csp-contract-timeline")
    # The language switch submits on change (recur.js, not onchange=).
    with page.expect_navigation():
        page.select_option("#lang-select", "fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert violations == []
