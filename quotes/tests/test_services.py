"""Quote services: building, totals equal to the engine's, refusals that save nothing, the lifecycle."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from djmoney.money import Money

from billing_site.audit import audit_history
from billing_site.errors import Immutable, InvalidTransition, ValidationFailed
from catalog.models import PriceBook, PriceBookEntry, Product
from quotes import services
from quotes.models import Quote, QuoteLine
from quotes.services.lifecycle import NotAllowed
from quotes.tests.factories import TODAY, account, draft

pytestmark = pytest.mark.django_db
D = Decimal
ZERO_BALANCE = D("0")


@pytest.fixture
def quote(cat, acct, sales_user):
    return draft(actor=sales_user, account=acct, book=cat["book"])


def build_three_lines(quote, cat, actor):
    services.quote_line_add(quote=quote, actor=actor, product=cat["platform"], quantity="10", discount_percent="15")
    services.quote_line_add(quote=quote, actor=actor, product=cat["onboarding"], quantity="1")
    services.quote_line_add(quote=quote, actor=actor, product=cat["storage"], quantity="15")
    services.quote_line_add(quote=quote, actor=actor, product=cat["api_calls"], quantity="1000")
    quote.refresh_from_db()
    return quote


def totals(quote):
    return (quote.one_time_total, quote.mrr, quote.arr, quote.total_contract_value, quote.tax_estimate)


# Creating and building ----------------------------------------------------------------------------


def test_create_takes_payment_terms_from_the_account_and_numbers_the_quote(cat, sales_user):
    acct = account(payment_terms_days=45)
    quote = draft(actor=sales_user, account=acct, book=cat["book"])
    assert (quote.number, quote.version, quote.status, quote.currency) == (f"Q-{quote.pk:05d}", 1, "draft", "EUR")
    assert (quote.payment_terms_days, quote.start_date, quote.end_date) == (45, dt.date(2026, 4, 1), dt.date(2027, 4, 1))
    assert [(a.action, a.to_state) for a in audit_history(quote)] == [("created", "draft")]


def test_create_defaults_to_the_standard_book_and_a_30_day_validity(cat, acct, sales_user):
    quote = services.quote_create(actor=sales_user, account=acct, today=TODAY)
    assert (quote.price_book, quote.start_date, quote.expiration_date) == (cat["book"], TODAY, dt.date(2026, 4, 9))


def test_create_refuses_a_book_in_another_currency_and_saves_nothing(cat, sales_user):
    usd = PriceBook.objects.create(name="Standard USD", currency="USD", is_standard=True)
    with pytest.raises(ValidationFailed) as exc:
        draft(actor=sales_user, account=account(), book=usd, expiration_date=dt.date(2026, 3, 1))
    assert exc.value.fields == {
        "price_book": ["The price book is in USD but the account is billed in EUR."],
        "expiration_date": ["The expiration date cannot be in the past."],
    }
    assert Quote.objects.count() == 0


def test_the_quote_total_equals_the_pricing_engine_to_the_cent(quote, cat, sales_user):
    quote = build_three_lines(quote, cat, sales_user)
    platform, onboarding, storage, usage = quote.lines.order_by("position")
    # Each line, to the cent: 10 users at 1,200.00 less 15 % = 1,020.00 each, 12 of 12 months.
    assert (platform.net_unit_price, platform.line_total) == (D("1020.00"), D("10200.00"))
    assert onboarding.line_total == D("500.00")
    # Storage is tiered: 10 × 100 + 5 × 80 = 1,400.00 for 15 units, i.e. 93.333333 a unit.
    assert (storage.list_unit_price, storage.line_total) == (D("93.333333"), D("1400.00"))
    assert (usage.line_total, usage.net_unit_price) == (D("0"), D("0.002"))
    assert [line.tax_amount for line in (platform, onboarding, storage, usage)] == [D("2040.00"), D("100.00"), D("280.00"), D("0.00")]
    assert (platform.tax_label, platform.tax_rate_percent) == ("VAT 20%", D("20.0000"))
    # one-time, MRR (850 + 1400/12 = 966.666…), ARR (12 × the exact sum), TCV, tax
    assert totals(quote) == (D("500.00"), D("966.67"), D("11600.00"), D("12100.00"), D("2420.00"))
    assert quote.grand_total == D("14520.00")
    assert quote.legal_entity == cat["entity"]


def test_lines_snapshot_the_entry_so_a_later_price_change_does_not_move_the_quote(quote, cat, sales_user):
    line = services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="2")
    PriceBookEntry.objects.filter(product=cat["platform"]).update(unit_price=D("9999"))
    services.quote_line_update(line=line, actor=sales_user, data={"quantity": D("3")})
    line.refresh_from_db()
    assert (line.list_unit_price, line.line_total) == (D("1200.000000"), D("3600.00"))
    assert D(line.pricing_snapshot["unit_price"]) == D("1200")
    assert line.pricing_snapshot["basis"] == "unit"


def test_a_35_month_term_multiplies_a_12_month_price(cat, acct, sales_user):
    quote = draft(actor=sales_user, account=acct, book=cat["book"], term=35)
    line = services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="3")
    assert (line.end_date, line.multiplier, line.line_total) == (dt.date(2029, 3, 1), Fraction(35, 12), D("10500.00"))
    quote.refresh_from_db()
    assert (quote.mrr, quote.arr, quote.total_contract_value) == (D("300.00"), D("3600.00"), D("10500.00"))


def test_a_line_with_its_own_dates_is_prorated_by_the_exact_day_fraction(quote, cat, sales_user):
    line = services.quote_line_add(
        quote=quote, actor=sales_user, product=cat["platform"], quantity="7",
        start_date=dt.date(2026, 4, 1), end_date=dt.date(2026, 5, 11),
    )
    assert (line.multiplier, line.line_total) == (Fraction(41, 372), D("925.81"))


def test_quote_discount_reprices_every_line(quote, cat, sales_user):
    line = services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1", discount_percent="10")
    services.quote_update(quote=quote, actor=sales_user, data={"quote_discount_percent": D("5")}, today=TODAY)
    line.refresh_from_db()
    assert (line.net_unit_price, line.line_total, line.effective_discount_percent) == (D("1026.000000"), D("1026.00"), D("14.500000"))


def test_changing_the_quote_term_moves_the_lines_that_followed_it(quote, cat, sales_user):
    follows = services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1")
    own = services.quote_line_add(
        quote=quote, actor=sales_user, product=cat["platform"], quantity="1",
        start_date=dt.date(2026, 4, 1), end_date=dt.date(2026, 10, 1),
    )
    services.quote_update(quote=quote, actor=sales_user, data={"term_months": 24}, today=TODAY)
    follows.refresh_from_db()
    own.refresh_from_db()
    assert (follows.end_date, follows.line_total) == (dt.date(2028, 4, 1), D("2400.00"))
    assert (own.end_date, own.line_total) == (dt.date(2026, 10, 1), D("600.00"))


# Bad input: clear errors, nothing saved -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"quantity": "0"}, {"quantity": ["The quantity must be greater than 0."]}),
        ({"quantity": "-2"}, {"quantity": ["The quantity must be greater than 0."]}),
        ({"quantity": "1.1234567"}, {"quantity": ["At most 6 decimal places."]}),
        ({"quantity": "abc"}, {"quantity": ["Enter a number."]}),
        ({"quantity": "1", "discount_percent": "100.5"}, {"discount_percent": ["A discount must be between 0 and 100 %."]}),
        ({"quantity": "1", "discount_percent": "-1"}, {"discount_percent": ["A discount must be between 0 and 100 %."]}),
        ({"quantity": "1", "discount_amount": "-5"}, {"discount_amount": ["A discount must not be negative."]}),
        (
            {"quantity": "1", "discount_amount": "1500"},
            {"discount_amount": ["This discount is more than the list price of €1,200.00: the net price would be negative."]},
        ),
        (
            {"quantity": "1", "discount_amount": "5", "discount_percent": "5"},
            {"discount_amount": ["Give a discount percent or an amount per unit, not both."]},
        ),
        (
            {"quantity": "1", "start_date": dt.date(2026, 6, 1), "end_date": dt.date(2026, 5, 1)},
            {"end_date": ["The line must end after it starts."]},
        ),
    ],
)
def test_bad_line_input_is_refused_with_a_clear_message_and_nothing_saved(quote, cat, sales_user, kwargs, fields):
    with pytest.raises(ValidationFailed) as exc:
        services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], **kwargs)
    assert exc.value.fields == fields
    assert QuoteLine.objects.count() == 0
    quote.refresh_from_db()
    assert (quote.total_contract_value, quote.legal_entity) == (D("0"), None)
    assert [a.action for a in audit_history(quote)] == ["created"]


def test_a_product_without_a_price_in_the_books_currency_is_refused(quote, cat, sales_user):
    usd_only = Product.objects.create(
        sku="USD-ONLY", name="Dollar thing", charge_type="one_time", billing_rule=cat["rule"], tax_rule=cat["vat"]
    )
    usd = PriceBook.objects.create(name="US book", currency="USD")
    PriceBookEntry.objects.create(price_book=usd, product=usd_only, pricing_model="flat", unit_price=Money("10", "USD"))
    with pytest.raises(ValidationFailed) as exc:
        services.quote_line_add(quote=quote, actor=sales_user, product=usd_only, quantity="1")
    assert exc.value.fields == {"product": ["Dollar thing has no price in EUR in the price book Standard EUR."]}


def test_a_product_that_is_not_ready_is_refused_with_what_it_misses(quote, cat, sales_user):
    Product.objects.filter(pk=cat["onboarding"].pk).update(tax_rule=None)
    with pytest.raises(ValidationFailed) as exc:
        services.quote_line_add(quote=quote, actor=sales_user, product=cat["onboarding"], quantity="1")
    assert exc.value.fields == {"product": ["Onboarding is not ready to be quoted.", "Tax rule: Choose a tax rule."]}
    assert QuoteLine.objects.count() == 0


def test_usage_cannot_be_discounted(quote, cat, sales_user):
    with pytest.raises(ValidationFailed) as exc:
        services.quote_line_add(quote=quote, actor=sales_user, product=cat["api_calls"], quantity="1", discount_percent="5")
    assert exc.value.fields == {"discount_percent": ["Usage is rated on what is used: it cannot be discounted on a quote."]}


def test_a_refused_line_change_leaves_the_line_as_it_was(quote, cat, sales_user):
    line = services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="2")
    with pytest.raises(ValidationFailed):
        services.quote_line_update(line=line, actor=sales_user, data={"quantity": "4", "discount_percent": "150"})
    line.refresh_from_db()
    quote.refresh_from_db()
    assert (line.quantity, line.discount_percent, line.line_total, quote.total_contract_value) == (
        D("2.000000"), None, D("2400.00"), D("2400.00"),
    )


def test_lines_of_a_quote_that_is_no_longer_a_draft_cannot_change(quote, cat, sales_user):
    line = services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1")
    services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=TODAY)
    message = (
        f"Quote {quote} is approved: only a draft can be edited. Send it back to draft (it will need approval again) or clone it."
    )
    for call in (
        lambda: services.quote_line_update(line=line, actor=sales_user, data={"quantity": "5"}),
        lambda: services.quote_line_add(quote=quote, actor=sales_user, product=cat["onboarding"], quantity="1"),
        lambda: services.quote_line_remove(line=line, actor=sales_user),
        lambda: services.quote_update(quote=quote, actor=sales_user, data={"notes": "x"}),
    ):
        with pytest.raises(Immutable) as exc:
            call()
        assert str(exc.value) == message
    assert QuoteLine.objects.get().quantity == D("1")


# Approvals ------------------------------------------------------------------------------------------


def test_submit_without_reasons_approves_at_once(quote, cat, sales_user):
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1", discount_percent="20")
    quote = services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=TODAY)
    assert (quote.status, quote.approval_required, quote.approval_reasons) == ("approved", False, [])
    row = audit_history(quote).first()
    assert (row.action, row.from_state, row.to_state, row.message) == ("submitted", "draft", "approved", "No approval needed.")


def test_a_discount_above_the_family_threshold_needs_approval(quote, cat, sales_user):
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1", discount_percent="20.5")
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["onboarding"], quantity="1", discount_amount="60")
    quote = services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=TODAY)
    assert quote.status == "in_review"
    assert [(r["code"], r["position"], r["discount"], r["threshold"]) for r in quote.approval_reasons] == [
        ("discount", 1, "20.50", "20.00"), ("discount", 2, "12.00", "10.00"),
    ]


def test_the_quote_discount_counts_towards_the_threshold(quote, cat, sales_user):
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1", discount_percent="15")
    services.quote_update(quote=quote, actor=sales_user, data={"quote_discount_percent": D("6")}, today=TODAY)
    quote = services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=TODAY)
    assert quote.status == "in_review"  # 1 − 0.85 × 0.94 = 20.1 %
    assert quote.approval_reasons[0]["discount"] == "20.10"


def test_credit_hold_needs_approval(cat, sales_user):
    quote = draft(actor=sales_user, account=account(credit_hold=True), book=cat["book"])
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1")
    quote = services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=TODAY)
    assert (quote.status, quote.approval_reasons) == ("in_review", [{"code": "credit_hold"}])


def test_open_balance_plus_the_quote_with_tax_over_the_limit_needs_approval(cat, sales_user):
    acct = account(credit_limit_amount=D("5000"))
    quote = draft(actor=sales_user, account=acct, book=cat["book"])
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="3")  # 3,600 + 720 tax
    assert services.quote_approval_reasons(quote=quote, open_balance=D("680.00")) == []  # exactly 5,000: at the limit
    quote = services.quote_submit(quote=quote, actor=sales_user, open_balance=D("680.01"), today=TODAY)
    assert quote.status == "in_review"
    assert quote.approval_reasons == [
        {"code": "credit_limit", "open_balance": "680.01", "exposure": "5000.01", "limit": "5000.00"}
    ]


def test_only_finance_approves_and_the_approval_is_audited(quote, cat, sales_user, finance_user):
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1", discount_percent="30")
    services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=TODAY)
    with pytest.raises(NotAllowed):
        services.quote_approve(quote=quote, actor=sales_user)
    with pytest.raises(InvalidTransition):
        services.quote_present(quote=quote, actor=sales_user, today=TODAY)
    quote = services.quote_approve(quote=quote, actor=finance_user, comment="Strategic logo")
    assert (quote.status, quote.approved_by, quote.approval_comment) == ("approved", finance_user, "Strategic logo")
    row = audit_history(quote).first()
    assert (row.action, row.actor, row.from_state, row.to_state, row.message) == (
        "approved", finance_user, "in_review", "approved", "Strategic logo",
    )


def test_rejecting_the_approval_needs_a_comment_and_returns_to_draft(quote, cat, sales_user, finance_user):
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1", discount_percent="30")
    services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=TODAY)
    with pytest.raises(ValidationFailed) as exc:
        services.quote_reject_approval(quote=quote, actor=finance_user, comment="  ")
    assert exc.value.fields == {"comment": ["Say why the approval is rejected: the rep will read it."]}
    quote = services.quote_reject_approval(quote=quote, actor=finance_user, comment="Max 20 % on Platform")
    assert (quote.status, quote.approval_comment) == ("draft", "Max 20 % on Platform")
    # Fixed and submitted again: no approval needed any more.
    line = quote.lines.get()
    services.quote_line_update(line=line, actor=sales_user, data={"discount_percent": "20"})
    quote = services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=TODAY)
    assert (quote.status, quote.approval_comment) == ("approved", "")


def test_an_approved_quote_edited_again_goes_through_approval_again(quote, cat, sales_user, finance_user):
    line = services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1", discount_percent="30")
    services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=TODAY)
    services.quote_approve(quote=quote, actor=finance_user)
    quote = services.quote_revise(quote=quote, actor=sales_user)
    assert (quote.status, quote.approved_by) == ("draft", None)
    services.quote_line_update(line=line, actor=sales_user, data={"discount_percent": "50"})
    quote = services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=TODAY)
    assert quote.status == "in_review"


def test_submitting_an_empty_or_expired_quote_is_refused(quote, cat, sales_user):
    with pytest.raises(ValidationFailed) as exc:
        services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=TODAY)
    assert str(exc.value) == "Add at least one line before submitting the quote."
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1")
    with pytest.raises(ValidationFailed) as exc:
        services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=dt.date(2026, 5, 1))
    assert exc.value.fields == {
        "expiration_date": ["The quote expired on 2026-04-30: move the expiration date before submitting."]
    }


# Presenting, the customer's answer, expiry, versions ---------------------------------------------


def approved(quote, cat, actor):
    services.quote_line_add(quote=quote, actor=actor, product=cat["platform"], quantity="2")
    return services.quote_submit(quote=quote, actor=actor, open_balance=ZERO_BALANCE, today=TODAY)


def test_presenting_renders_the_pdf_in_the_worker(quote, cat, sales_user, django_capture_on_commit_callbacks):
    approved(quote, cat, sales_user)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        quote = services.quote_present(quote=quote, actor=sales_user, today=TODAY)
    assert len(callbacks) == 1
    quote.refresh_from_db()
    assert quote.status == "presented"
    assert quote.pdf.name == f"quotes/{quote.number}-v1.pdf"
    assert quote.pdf.read(5) == b"%PDF-"
    assert [a.action for a in audit_history(quote)][:2] == ["pdf_rendered", "presented"]


def test_a_quote_approved_automatically_cannot_be_presented_once_the_account_is_on_hold(quote, cat, sales_user):
    approved(quote, cat, sales_user)
    type(quote.account).objects.filter(pk=quote.account_id).update(credit_hold=True)
    with pytest.raises(InvalidTransition) as exc:
        services.quote_present(quote=quote, actor=sales_user, today=TODAY)
    assert "credit hold" in str(exc.value)


def test_accept_is_idempotent_and_audited_once(quote, cat, sales_user):
    approved(quote, cat, sales_user)
    services.quote_present(quote=quote, actor=sales_user, today=TODAY)
    services.quote_accept(quote=quote, actor=sales_user, today=TODAY)
    quote = services.quote_accept(quote=quote, actor=sales_user, today=TODAY)
    assert quote.status == "accepted"
    assert [a.action for a in audit_history(quote)].count("accepted") == 1
    with pytest.raises(InvalidTransition):
        services.quote_reject(quote=quote, actor=sales_user)


def test_only_a_presented_quote_can_be_accepted_or_rejected(quote, cat, sales_user):
    approved(quote, cat, sales_user)
    with pytest.raises(InvalidTransition) as exc:
        services.quote_accept(quote=quote, actor=sales_user, today=TODAY)
    assert str(exc.value) == f"Quote {quote} is approved: it cannot be accepted."
    services.quote_present(quote=quote, actor=sales_user, today=TODAY)
    quote = services.quote_reject(quote=quote, actor=sales_user, comment="Went with a competitor")
    assert (quote.status, quote.decision_comment) == ("rejected", "Went with a competitor")


def test_the_expiry_job_expires_open_quotes_past_their_date_once(cat, acct, sales_user):
    due = draft(actor=sales_user, account=acct, book=cat["book"], expiration_date=dt.date(2026, 3, 20))
    presented = draft(actor=sales_user, account=acct, book=cat["book"], expiration_date=dt.date(2026, 3, 20))
    approved(presented, cat, sales_user)
    services.quote_present(quote=presented, actor=sales_user, today=TODAY)
    last_day = draft(actor=sales_user, account=acct, book=cat["book"], expiration_date=dt.date(2026, 3, 21))
    assert services.quotes_expire_due(today=dt.date(2026, 3, 21)) == 2
    assert services.quotes_expire_due(today=dt.date(2026, 3, 21)) == 0
    statuses = dict(Quote.objects.values_list("pk", "status"))
    assert (statuses[due.pk], statuses[presented.pk], statuses[last_day.pk]) == ("expired", "expired", "draft")
    row = audit_history(presented).first()
    assert (row.action, row.actor_label, row.from_state, row.to_state) == ("expired", "quotes_expire", "presented", "expired")


def test_the_beat_task_runs_the_expiry(cat, acct, sales_user):
    from quotes.tasks import quotes_expire

    draft(actor=sales_user, account=acct, book=cat["book"], expiration_date=dt.date(2026, 3, 20))
    assert quotes_expire.delay("2026-03-21").get() == 1


def test_clone_makes_a_new_draft_version_with_the_same_lines(quote, cat, sales_user):
    quote = build_three_lines(quote, cat, sales_user)
    services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=TODAY)
    clone = services.quote_clone(quote=quote, actor=sales_user, today=dt.date(2026, 5, 2))
    assert (clone.number, clone.version, clone.status, clone.cloned_from) == (quote.number, 2, "draft", quote)
    assert clone.expiration_date == dt.date(2026, 6, 1)  # the original had expired: a fresh 30 days
    assert totals(clone) == totals(quote)
    assert [(line.product.sku, line.quantity, line.line_total) for line in clone.lines.all()] == [
        (line.product.sku, line.quantity, line.line_total) for line in quote.lines.all()
    ]
    third = services.quote_clone(quote=quote, actor=sales_user, today=TODAY)
    assert third.version == 3


def test_only_a_never_submitted_draft_can_be_deleted(quote, cat, sales_user):
    services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="1")
    other = draft(actor=sales_user, account=quote.account, book=cat["book"])
    services.quote_delete(quote=other, actor=sales_user)
    services.quote_submit(quote=quote, actor=sales_user, open_balance=ZERO_BALANCE, today=TODAY)
    services.quote_revise(quote=quote, actor=sales_user)
    with pytest.raises(Immutable):
        services.quote_delete(quote=quote, actor=sales_user)
    assert list(Quote.objects.values_list("pk", flat=True)) == [quote.pk]
