"""Quote pages: the builder with and without HTMX, errors that keep what was typed, approvals by role."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from quotes import services
from quotes.models import Quote, QuoteLine
from quotes.tests.factories import TODAY, account, draft

pytestmark = pytest.mark.django_db
D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def quote(cat, acct, sales_user):
    return draft(actor=sales_user, account=acct, book=cat["book"])


def test_create_from_the_account_page_prefills_terms_and_shows_the_credit_panel(sales_client, cat):
    acct = account(name="Atelier Bleu", payment_terms_days=45, credit_limit_amount=D("20000"))
    response = sales_client.get(reverse("quotes:create"), {"account": acct.pk})
    form = response.context["form"]
    assert (form.initial["account"], form.initial["payment_terms_days"], form.initial["price_book"]) == (acct.pk, 45, cat["book"])
    assert response.context["credit_panel"]["credit"].remaining_after_quote == D("20000.00")
    assert b'data-testid="credit-panel"' in response.content
    response = sales_client.post(
        reverse("quotes:create"),
        {"account": acct.pk, "price_book": cat["book"].pk, "start_date": "2026-04-01", "term_months": 12,
         "expiration_date": "2026-04-09", "payment_terms_days": 45, "quote_discount_percent": "0", "notes": ""},
    )
    quote = Quote.objects.get()
    assert response["Location"] == reverse("quotes:detail", args=[quote.pk])
    assert (quote.account, quote.payment_terms_days, quote.created_by.username) == (acct, 45, "sam")


def test_create_shows_the_services_errors_and_keeps_what_was_typed(sales_client, cat, acct):
    response = sales_client.post(
        reverse("quotes:create"),
        {"account": acct.pk, "price_book": cat["book"].pk, "start_date": "2026-04-01", "term_months": 0,
         "expiration_date": "2026-04-09", "payment_terms_days": 30, "quote_discount_percent": "120", "notes": "Keep me"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "term_months": ["The term must be between 1 and 120 months."],
        "quote_discount_percent": ["A discount must be between 0 and 100 %."],
    }
    assert response.context["form"]["notes"].value() == "Keep me"
    assert Quote.objects.count() == 0


def test_builder_adds_a_line_over_htmx_and_returns_live_totals(sales_client, quote, cat):
    response = sales_client.post(
        reverse("quotes:line-add", args=[quote.pk]), {"product": cat["platform"].pk, "quantity": "2"}, **HTMX
    )
    assert response.status_code == 200
    assert response.templates[0].name == "quotes/_builder.html"
    assert response["HX-Trigger"] == "quote-changed"
    html = response.content.decode()
    assert 'data-total="total_contract_value">€2,400.00<' in html
    assert 'data-total="mrr">€200.00<' in html
    assert 'data-total="tax_estimate">€480.00<' in html


def test_builder_line_change_keeps_what_was_typed_on_error(sales_client, quote, cat, sales_user):
    line = services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="2")
    url = reverse("quotes:line-update", args=[quote.pk, line.pk])
    data = {"quantity": "3", "discount_percent": "130", "discount_amount": "", "start_date": "2026-04-01", "last_day": "2027-03-31"}
    response = sales_client.post(url, data, **HTMX)
    html = response.content.decode()
    assert "Line 1 was not changed: Discount (%): A discount must be between 0 and 100 %." in html
    assert f'id="l{line.pk}-discount_percent" value="130"' in html
    assert f'id="l{line.pk}-quantity" value="3"' in html
    line.refresh_from_db()
    assert (line.quantity, line.discount_percent) == (D("2"), None)
    data["discount_percent"] = "10"
    response = sales_client.post(url, data, **HTMX)
    line.refresh_from_db()
    assert (line.quantity, line.discount_percent, line.line_total) == (D("3"), D("10"), D("3240.00"))
    assert 'data-total="total_contract_value">€3,240.00<' in response.content.decode()


def test_the_last_day_shown_is_the_day_before_the_excluded_end(sales_client, quote, cat, sales_user):
    line = services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1")
    url = reverse("quotes:line-update", args=[quote.pk, line.pk])
    sales_client.post(url, {"quantity": "1", "start_date": "2026-04-01", "last_day": "2026-09-30"})
    line.refresh_from_db()
    assert (line.end_date, line.line_total) == (dt.date(2026, 10, 1), D("600.00"))


def test_builder_works_without_javascript(sales_client, quote, cat):
    response = sales_client.get(reverse("quotes:detail", args=[quote.pk]), {"q": "plat"})
    assert [r["product"].sku for r in response.context["results"]] == ["PLAT-USER"]
    response = sales_client.post(reverse("quotes:line-add", args=[quote.pk]), {"product": cat["platform"].pk, "quantity": "0"})
    assert response.status_code == 302
    response = sales_client.get(response["Location"])
    assert "Quantity: The quantity must be greater than 0." in [str(m) for m in response.context["messages"]]
    assert QuoteLine.objects.count() == 0


def test_product_search_says_why_a_product_cannot_be_quoted(sales_client, quote, cat):
    from catalog.models import Product

    Product.objects.filter(pk=cat["storage"].pk).update(tax_rule=None)
    response = sales_client.get(reverse("quotes:product-search", args=[quote.pk]), {"q": "stor"}, **HTMX)
    html = response.content.decode()
    assert "Not ready to quote" in html and "Tax rule: Choose a tax rule." in html
    assert f'name="product" value="{cat["storage"].pk}"' not in html


def test_each_line_shows_its_breakdown_and_the_periods_the_contract_will_bill(sales_client, quote, cat, sales_user):
    services.quote_line_add(
        quote=quote, actor=sales_user, product=cat["platform"], quantity="1", start_date=dt.date(2026, 4, 1),
        end_date=dt.date(2026, 7, 1),
    )
    response = sales_client.get(reverse("quotes:detail", args=[quote.pk]))
    breakdown = response.context["lines"][0].breakdown
    assert [(p["start"], p["end"], p["factor"], p["amount"]) for p in breakdown["periods"]] == [
        (dt.date(2026, 4, 1), dt.date(2026, 5, 1), "30/30 = 1.000000", D("100.00")),
        (dt.date(2026, 5, 1), dt.date(2026, 6, 1), "31/31 = 1.000000", D("100.00")),
        (dt.date(2026, 6, 1), dt.date(2026, 7, 1), "30/30 = 1.000000", D("100.00")),
    ]
    assert breakdown["periods_amount"] == D("300.00")
    assert response.context["lines"][0].line.line_total == D("300.00")


def test_the_quote_page_shows_the_credit_panel_with_what_remains_after_the_quote(sales_client, cat, sales_user):
    acct = account(credit_limit_amount=D("3000"), credit_hold=True)
    quote = draft(actor=sales_user, account=acct, book=cat["book"])
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="2")
    response = sales_client.get(reverse("quotes:detail", args=[quote.pk]))
    credit = response.context["credit_panel"]["credit"]
    assert (credit.open_balance, credit.quote_amount, credit.remaining_after_quote, credit.over_limit) == (
        D("0.00"), D("2880.00"), D("120.00"), False,
    )
    assert [w.code for w in credit.warnings] == ["credit_hold"]
    assert "This account is on credit hold: finance must approve any quote." in response.content.decode()


def test_sales_cannot_approve_through_the_page_and_finance_can(client, sales_user, finance_user, quote, cat):
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1", discount_percent="40")
    client.force_login(sales_user)
    client.post(reverse("quotes:submit", args=[quote.pk]))
    quote.refresh_from_db()
    assert quote.status == "in_review"
    assert client.post(reverse("quotes:approve", args=[quote.pk])).status_code == 403
    response = client.post(reverse("quotes:present", args=[quote.pk]), follow=True)
    assert f"Quote {quote} is in review: it cannot be presented." in [str(m) for m in response.context["messages"]]
    page = client.get(reverse("quotes:detail", args=[quote.pk])).content.decode()
    assert "Line 1, Platform: discount of 40.00 % is above the 20 % threshold." in page
    assert reverse("quotes:approve", args=[quote.pk]) not in page
    client.force_login(finance_user)
    assert reverse("quotes:approve", args=[quote.pk]) in client.get(reverse("quotes:detail", args=[quote.pk])).content.decode()
    client.post(reverse("quotes:approve", args=[quote.pk]), {"comment": "OK for this year"})
    quote.refresh_from_db()
    assert (quote.status, quote.approved_by, quote.approval_comment) == ("approved", finance_user, "OK for this year")


def test_present_then_download_the_pdf_then_accept(sales_client, quote, cat, sales_user, django_capture_on_commit_callbacks):
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1")
    sales_client.post(reverse("quotes:submit", args=[quote.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        sales_client.post(reverse("quotes:present", args=[quote.pk]))
    response = sales_client.get(reverse("quotes:pdf", args=[quote.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{quote.number}-v1.pdf"'
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    response = sales_client.post(reverse("contracts:quote-accept", args=[quote.pk]))
    quote.refresh_from_db()
    assert quote.status == "accepted"
    assert response["Location"] == reverse("contracts:order-detail", args=[quote.order.pk])


def test_list_filters_and_csv(client, finance_user, cat, acct, sales_user):
    mine = draft(actor=sales_user, account=acct, book=cat["book"])
    services.quote_line_add(quote=mine, actor=sales_user, product=cat["platform"], quantity="1", discount_percent="50")
    services.quote_submit(quote=mine, actor=sales_user, open_balance=D("0"), today=TODAY)
    draft(actor=None, account=account(name="Other"), book=cat["book"])
    client.force_login(finance_user)
    response = client.get(reverse("quotes:index"), {"status": "in_review"})
    assert [q.pk for q in response.context["page"].object_list] == [mine.pk]
    client.force_login(sales_user)
    response = client.get(reverse("quotes:export"), {"mine": "true"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:4] == ["number", "version", "account", "status"]
    assert [r[:4] for r in rows[1:]] == [[mine.number, "1", "Maison Verte", "in_review"]]
    assert rows[1][8:13] == ["0.00", "50.00", "600.00", "600.00", "120.00"]


def test_list_query_count_does_not_grow_with_rows(finance_client, cat, acct, django_assert_max_num_queries):
    for _ in range(15):
        draft(actor=None, account=acct, book=cat["book"])
    with django_assert_max_num_queries(8):
        finance_client.get(reverse("quotes:index"))


def test_account_page_has_the_quotes_tab_and_the_credit_panel(sales_client, quote):
    response = sales_client.get(reverse("customers:detail", args=[quote.account_id]), {"tab": "quotes"})
    html = response.content.decode()
    assert 'data-testid="credit-panel"' in html
    assert f"{quote.number} v1" in html


def test_dashboard_cards(quote, cat, sales_user, finance_user):
    from billing_site.roles import Role
    from quotes.selectors import dashboard_cards

    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1", discount_percent="50")
    services.quote_submit(quote=quote, actor=sales_user, open_balance=D("0"), today=TODAY)
    sales_cards = {c["title"]: c["value"] for c in dashboard_cards(user=sales_user, roles={Role.SALES})}
    finance_cards = {c["title"]: c["value"] for c in dashboard_cards(user=finance_user, roles={Role.FINANCE})}
    assert sales_cards["My open quotes"] == 1
    assert finance_cards["Quotes awaiting approval"] == 1


def test_the_admin_shows_quotes_read_only(client, admin_user, quote, cat, sales_user):
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1")
    client.force_login(admin_user)
    response = client.get(reverse("admin:quotes_quote_change", args=[quote.pk]))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is True
    assert 'name="status"' not in response.content.decode()
    assert client.get(reverse("admin:quotes_quote_add")).status_code == 403
    assert client.post(reverse("admin:quotes_quote_delete", args=[quote.pk]), {"post": "yes"}).status_code == 403
    assert Quote.objects.filter(pk=quote.pk).exists()
