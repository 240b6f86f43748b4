"""Pages, API and exports of the books: FEC layout, close/reopen, chart edits, reports."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from accounting.models import ChartAccount, FinancePeriod
from accounting.selectors import FEC_COLUMNS, mrr_by_month, revenue_by_month, waterfall
from accounting.services import books_process, period_close
from billing_site.roles import Role
from conftest import make_user

from .factories import AccountFactory, legal_entity, posted_invoice

pytestmark = pytest.mark.django_db
JAN1 = dt.date(2025, 1, 1)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2025, 3, 15, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def books():
    account = AccountFactory(name="Acme SA")
    invoice = posted_invoice(account, [("365.00", JAN1, dt.date(2026, 1, 1), None)], invoice_date=JAN1)
    books_process(today=JAN1)
    period_close(period=FinancePeriod.objects.get(name="2025-01"), actor=None)
    return account, invoice


def test_fec_has_the_18_columns_formats_and_file_name(finance_client, books):
    entity = legal_entity()
    entity.tax_id = "FR40123456789"
    entity.save()
    from accounting.models import Books

    Books.objects.filter(legal_entity=entity).update(siren="123456789")
    response = finance_client.get(reverse("accounting:fec"), {"legal_entity": entity.pk, "year": 2025})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="123456789FEC20251231.txt"'
    text = b"".join(response.streaming_content).decode("utf-8")
    lines = text.split("\r\n")[:-1]
    assert lines[0].split("\t") == FEC_COLUMNS
    assert FEC_COLUMNS == ["JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
                           "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
                           "ValidDate", "Montantdevise", "Idevise"]
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(r) == 18 for r in rows)
    for r in rows:
        assert re.fullmatch(r"\d{8}", r[3]) and re.fullmatch(r"\d{8}", r[9])
        assert re.fullmatch(r"\d+,\d{2}", r[11]) and re.fullmatch(r"\d+,\d{2}", r[12])
    invoice_rows = [r for r in rows if r[0] == "VE"]
    receivable = next(r for r in invoice_rows if r[4] == "411")
    assert receivable[:5] == ["VE", "Ventes", "1", "20250101", "411"]
    assert (receivable[6], receivable[7], receivable[11], receivable[12]) == (books[0].number, "Acme SA", "438,00", "0,00")
    recognition = [r for r in rows if r[0] == "OD"]
    assert sorted((r[4], r[11], r[12]) for r in recognition) == [("487", "31,00", "0,00"), ("706", "0,00", "31,00")]
    assert {r[2] for r in recognition} == {"2"}
    debit = sum(D(r[11].replace(",", ".")) for r in rows)
    credit = sum(D(r[12].replace(",", ".")) for r in rows)
    assert debit == credit == D("469.00")


def test_exports_refuse_a_bad_year(finance_client, books):
    response = finance_client.get(reverse("accounting:fec"), {"legal_entity": legal_entity().pk, "year": 1900})
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 2000." in response.content.decode()


def test_journal_csv_and_trial_balance(finance_client, books):
    response = finance_client.get(reverse("accounting:journal-export"), {"legal_entity": legal_entity().pk, "year": 2025})
    text = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert text[0].startswith("entry,journal,date,period,kind,account")
    assert len(text) == 1 + 3 + 2
    jan = FinancePeriod.objects.get(name="2025-01")
    page = finance_client.get(reverse("accounting:trial-balance", args=[jan.pk])).content.decode()
    assert "487 Produits constatés d&#x27;avance" in page


def test_close_page_previews_then_closes(finance_client, books):
    feb = FinancePeriod.objects.get(name="2025-02")
    page = finance_client.get(reverse("accounting:close", args=[feb.pk])).content.decode()
    assert "Confirm: close the period" in page
    response = finance_client.post(reverse("accounting:close", args=[feb.pk]), follow=True)
    assert "The period 2025-02 is closed." in response.content.decode()
    feb.refresh_from_db()
    assert feb.is_closed


def test_reopen_is_refused_to_finance_and_done_by_admin(finance_client, client, books):
    jan = FinancePeriod.objects.get(name="2025-01")
    assert finance_client.post(reverse("accounting:reopen", args=[jan.pk]), {"reason": "x"}).status_code == 403
    admin = make_user("root-admin", Role.ADMIN)
    client.force_login(admin)
    page = client.get(reverse("accounting:reopen", args=[jan.pk])).content.decode()
    assert "Reopening makes the period writable again: its 2 entries stay as they are" in page
    response = client.post(reverse("accounting:reopen", args=[jan.pk]), {"reason": "Late supplier invoice"}, follow=True)
    assert "The period 2025-01 is open again." in response.content.decode()


def test_chart_account_rename_and_duplicate_number(finance_client, books):
    account = ChartAccount.objects.get(code="706")
    response = finance_client.post(reverse("accounting:chart-edit", args=[account.pk]), {"code": "411", "name": "X"})
    assert "The account 411 already exists." in response.content.decode()
    finance_client.post(reverse("accounting:chart-edit", args=[account.pk]), {"code": "7061", "name": "Abonnements"})
    account.refresh_from_db()
    assert (account.code, account.name) == ("7061", "Abonnements")


def test_revenue_reports_roll_forward_waterfall_and_mrr(finance_client, books):
    months = revenue_by_month(currency="EUR", start=JAN1, end=dt.date(2025, 4, 1))
    assert [(r["opening"], r["billed"], r["recognized"], r["deferred"]) for r in months] == [
        (D(0), D("365.00"), D("31.00"), D("334.00")),
        (D("334.00"), D(0), D("28.00"), D("306.00")),
        (D("306.00"), D(0), D("31.00"), D("275.00")),
    ]
    fall = waterfall(currency="EUR", start=JAN1, end=dt.date(2025, 4, 1))
    assert fall["rows"][0]["values"] == [D("31.00"), D("28.00"), D("31.00"), D("275.00")]
    mrr = mrr_by_month(currency="EUR", start=JAN1, end=dt.date(2025, 3, 1))
    assert [(r["mrr"], r["new"], r["churn"]) for r in mrr] == [(D("30.42"), D("30.42"), D(0)), (D("30.42"), D(0), D(0))]
    page = finance_client.get(reverse("accounting:revenue"), {"currency": "EUR", "year": 2025}).content.decode()
    assert "<svg" in page and "Waterfall" in page
    csv = b"".join(finance_client.get(reverse("accounting:mrr-export"), {"year": 2025}).streaming_content).decode("utf-8-sig")
    assert csv.splitlines()[1] == "2025-01-01,30.42,365.04,1,30.42,0.00,0.00,0.00,0.00"


def test_account_page_shows_revenue_to_date(finance_client, books):
    page = finance_client.get(reverse("customers:detail", args=[books[0].pk])).content.decode()
    assert "Revenue to date" in page and "€334.00" in page and "€31.00" in page


def test_api_periods_journal_and_fec(finance_api, books):
    periods = finance_api.get("/api/v1/finance-periods/", {"status": "closed"}).json()
    assert [p["name"] for p in periods["results"]] == ["2025-01"]
    entries = finance_api.get("/api/v1/journal-entries/", {"kind": "invoice"}).json()["results"]
    assert sorted((line["account"], line["debit"], line["credit"]) for line in entries[0]["lines"]) == [
        ("411", "438.00", "0.00"), ("44571", "0.00", "73.00"), ("487", "0.00", "365.00")]
    feb = FinancePeriod.objects.get(name="2025-02")
    response = finance_api.post(f"/api/v1/finance-periods/{feb.pk}/reopen/", {"reason": "x"}, format="json")
    assert response.status_code == 403
    response = finance_api.post(f"/api/v1/finance-periods/{feb.pk}/close/", format="json")
    assert response.json()["status"] == "closed"
    bad = finance_api.get("/api/v1/accounting/fec/", {"legal_entity": legal_entity().pk, "year": "x"})
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"year": ["Give a year between 2000 and 2100."]}
    tb = finance_api.get(f"/api/v1/finance-periods/{feb.pk}/trial-balance/").json()
    assert {r["code"]: r["closing"] for r in tb}["487"] == "-306.000000"


def test_api_reverses_an_entry_once(finance_api, books):
    from accounting.models import JournalEntry

    entry = JournalEntry.objects.get(kind="invoice")
    response = finance_api.post(f"/api/v1/journal-entries/{entry.pk}/reverse/", {"reason": "Wrong customer"}, format="json")
    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["label"], response.json()["reverses"]) == ("reversal", "Wrong customer", entry.pk)
    again = finance_api.post(f"/api/v1/journal-entries/{entry.pk}/reverse/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "This entry is already reversed."


def test_mrr_by_account_page_and_csv(finance_client, books):
    from accounting.selectors import mrr_breakdown

    table = mrr_breakdown(currency="EUR", start=JAN1, end=dt.date(2025, 3, 1), by="account")
    assert table["months"] == [JAN1, dt.date(2025, 2, 1)]
    assert [(r["name"], r["values"]) for r in table["rows"]] == [("Acme SA", [D("30.42"), D("30.42")])]
    csv = b"".join(finance_client.get(reverse("accounting:mrr-breakdown-export"), {"year": 2025, "by": "account"})
                   .streaming_content).decode("utf-8-sig").splitlines()
    assert csv[0].startswith("account,2025-01-01,2025-02-01")
    assert csv[1].startswith("Acme SA,30.42,30.42")
    page = finance_client.get(reverse("accounting:revenue"), {"year": 2025}).content.decode()
    assert "MRR by product" in page


def test_reversal_page_previews_requires_a_reason_and_posts_the_mirror_once(finance_client, books):
    from accounting.models import JournalEntry
    from billing_site.models import AuditLog

    entry = JournalEntry.objects.get(kind="invoice")
    jan = FinancePeriod.objects.get(name="2025-01")
    journal = finance_client.get(reverse("accounting:journal", args=[jan.pk])).content.decode()
    assert f'href="/accounting/entries/{entry.pk}/"' in journal
    page = finance_client.get(reverse("accounting:entry", args=[entry.pk])).content.decode()
    # January is closed: the mirror lands in March, the open period holding today (2025-03-15).
    assert "Reversing posts the mirror entry below on 03/15/2025 in the open period 2025-03." in page
    refused = finance_client.post(reverse("accounting:entry", args=[entry.pk]), {"reason": "   "})
    assert refused.status_code == 200
    assert "This field is required." in refused.content.decode()
    assert not JournalEntry.objects.filter(reverses=entry).exists()

    response = finance_client.post(reverse("accounting:entry", args=[entry.pk]), {"reason": "Billed to the wrong customer"},
                                   follow=True)
    mirror = JournalEntry.objects.get(reverses=entry)
    assert f"Entry {entry.pk} is reversed by entry {mirror.pk} in 2025-03." in response.content.decode()
    assert (mirror.kind, mirror.label, mirror.period.name, mirror.entry_date) == (
        "reversal", "Billed to the wrong customer", "2025-03", dt.date(2025, 3, 15))
    assert sorted((line.ledger_account.code, line.debit, line.credit) for line in mirror.lines.all()) == [
        ("411", D("0"), D("438.00")), ("44571", D("73.00"), D("0")), ("487", D("365.00"), D("0"))]
    assert sorted((line.ledger_account.code, line.debit, line.credit) for line in entry.lines.all()) == [
        ("411", D("438.00"), D("0")), ("44571", D("0"), D("73.00")), ("487", D("0"), D("365.00"))]
    audit = AuditLog.objects.get(action="reversed", object_id=str(entry.pk))
    assert (audit.message, audit.actor.username) == ("Billed to the wrong customer", "fiona")
    again = finance_client.get(reverse("accounting:entry", args=[entry.pk])).content.decode()
    assert 'id="reverse-preview"' not in again and 'id="reversed-by"' in again
    twice = finance_client.post(reverse("accounting:entry", args=[entry.pk]), {"reason": "Again"}, follow=True)
    assert "This entry is already reversed." in twice.content.decode()
    assert JournalEntry.objects.filter(reverses=entry).count() == 1


def test_reversal_page_is_refused_to_sales(sales_client, books):
    from accounting.models import JournalEntry

    entry = JournalEntry.objects.get(kind="invoice")
    assert sales_client.get(reverse("accounting:entry", args=[entry.pk])).status_code == 403
    assert sales_client.post(reverse("accounting:entry", args=[entry.pk]), {"reason": "x"}).status_code == 403
    assert not JournalEntry.objects.filter(reverses=entry).exists()


def test_account_timeline_shows_revenue_to_date_through_the_kernel_registry(sales_client, books):
    from accounting.selectors import account_panel, account_timeline_figures
    from billing_site import extensions
    from payments.selectors.credit import account_panel as credit_panel

    assert extensions.ACCOUNT_PANELS.index(credit_panel) < extensions.ACCOUNT_PANELS.index(account_panel)
    assert account_timeline_figures in extensions.TIMELINE_FIGURES
    page = sales_client.get(reverse("payments:timeline", args=[books[0].pk])).content.decode()
    assert re.search(r'id="fig-revenue-recognized">€31.00<', page)
    assert re.search(r'id="fig-revenue-deferred">€334.00<', page)
    detail = sales_client.get(reverse("customers:detail", args=[books[0].pk])).content.decode()
    assert detail.index('id="credit-panel"') < detail.index('id="revenue-panel"')
