"""Finance uploads a file with errors, sees them on the dry run, fixes the file and imports it."""

import pytest

from billing_site.roles import Role
from conftest import make_user
from customers.models import Account
from tests.browser.conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_upload_with_errors_fix_and_import(page, celery_eager, tmp_path):
    make_user("b-imp", Role.FINANCE)
    login(page, "b-imp", "pw-b-imp")
    page.click("nav.stages >> text=Imports")
    bad = tmp_path / "accounts.csv"
    bad.write_text("external_id,name,country,currency,billing_day\nC-1,Acme,FR,EUR,1\nC-2,Globex,ZZ,EUR,1\n", encoding="utf-8")
    page.select_option("#id_kind", "accounts")
    page.set_input_files("#id_file", str(bad))
    page.click("#upload")
    page.wait_for_selector("#import-rows")
    assert page.text_content("#count-create").strip() == "1"
    assert page.text_content("#count-error").strip() == "1"
    assert "“ZZ” is not an ISO 3166 country code." in page.text_content("#import-rows")
    assert page.query_selector("#commit-all") is None
    shot(page, "imports-preview-errors")
    assert Account.objects.count() == 0

    good = tmp_path / "accounts-fixed.csv"
    good.write_text("external_id,name,country,currency,billing_day\nC-1,Acme,FR,EUR,1\nC-2,Globex,DE,EUR,1\n", encoding="utf-8")
    page.click("text=← Imports")
    page.select_option("#id_kind", "accounts")
    page.set_input_files("#id_file", str(good))
    page.click("#upload")
    page.wait_for_selector("#commit-all")
    assert page.text_content("#count-create").strip() == "2"
    page.click("#commit-all")
    page.wait_for_selector(".messages")
    assert page.text_content("#import-status").strip() == "Imported"
    shot(page, "imports-done")
    assert sorted(Account.objects.values_list("name", flat=True)) == ["Acme", "Globex"]
