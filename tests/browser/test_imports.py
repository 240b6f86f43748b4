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


def test_a_migrated_contract_shows_where_its_schedule_stops(page, celery_eager, tmp_path):
    """A running contract billed through last month: its page shows three months of schedule and says
    that the rest is written month by month."""
    import datetime as dt

    from billing_site import clock
    from contracts.models import Contract, ScheduleEntry
    from contracts.tests.factories import Catalog
    from imports import services

    Catalog().product("PLAT", price="1200.00", frequency=1)
    accounts = services.import_upload(kind="accounts", filename="a.csv", actor=None,
                                      content=b"external_id,name,country,currency\nC-1,Acme,FR,EUR\n")
    services.import_commit(batch=accounts, actor=None, mode="all")
    services.import_execute(batch_id=accounts.pk)
    today = clock.today()
    this_month = today.replace(day=1)
    billed_through = this_month - dt.timedelta(days=1)
    start = (this_month - dt.timedelta(days=200)).replace(day=1)
    file = tmp_path / "contracts.csv"
    file.write_text("contract_id,account,start_date,term_months,billed_through,product,quantity\n"
                    f"K-1,C-1,{start.isoformat()},24,{billed_through.isoformat()},PLAT,2\n", encoding="utf-8")

    make_user("b-mig", Role.FINANCE)
    login(page, "b-mig", "pw-b-mig")
    page.click("nav.stages >> text=Imports")
    page.select_option("#id_kind", "contracts")
    page.set_input_files("#id_file", str(file))
    page.click("#upload")
    page.wait_for_selector("#commit-all")
    page.click("#commit-all")
    page.wait_for_selector(".messages")
    assert page.text_content("#import-status").strip() == "Imported"

    contract = Contract.objects.get()
    sub = contract.subscriptions.get()
    # Three months ahead of today: this month and the next two (three more from the 2nd of a month).
    until = sub.scheduled_until
    months = (until.year - this_month.year) * 12 + until.month - this_month.month
    assert months == (3 if today.day == 1 else 4) and until.day == 1
    assert ScheduleEntry.objects.filter(contract=contract).count() == months
    page.goto(page.base_url + f"/contracts/{contract.pk}/")
    note = page.text_content(".partly-scheduled")
    last_day = until - dt.timedelta(days=1)
    assert note.strip() == (f"Scheduled through {last_day:%m/%d/%Y}: the rest of the term is written month by month "
                            "(a migrated contract), or all at once by an amendment.")
    assert len(page.query_selector_all("table.schedule tbody tr")) == months
    assert page.text_content("#scheduled-through").strip() == f"· scheduled through {last_day:%m/%d/%Y}"
    shot(page, "contract-migrated-partly-scheduled")
