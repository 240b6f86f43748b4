"""Legal mentions on invoices and credit notes: the seller's legal form, share capital, registration
and VAT number, the buyer's VAT number, late-payment penalties, the fixed recovery indemnity, the
exemption or reverse-charge mention and the due date, frozen at posting and printed in the
document's language."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from catalog import services as catalog_services
from invoicing import services
from invoicing.models import Invoice
from invoicing.services.delivery import PDF_TEMPLATE, _document_context, document_pdf_bytes, legal_mentions
from invoicing.tests.factories import AccountFactory, activate

pytestmark = pytest.mark.django_db
START = date(2025, 1, 15)


def _entity(country="FR", tax_id="FR40123456789"):
    return {"legal_entity": {"country": country, "currency": "EUR", "tax_id": tax_id}}


@pytest.mark.parametrize(
    ("seller", "buyer", "exempt", "buyer_vat", "tax", "note"),
    [
        ("FR", "FR", False, "FR57123460122", Decimal("9.00"), ""),
        ("FR", "FR", True, "", Decimal("0"), "exempt"),
        ("FR", "DE", False, "DE123456789", Decimal("0"), "reverse_charge"),
        ("FR", "DE", False, "", Decimal("0"), ""),  # a consumer: no reverse charge
        ("FR", "DE", False, "DE123456789", Decimal("9.00"), ""),  # taxed: no mention
        ("FR", "US", False, "EIN 12-3456789", Decimal("0"), ""),  # outside the EU
        ("US", "US", True, "", Decimal("0"), "exempt"),
    ],
)
def test_tax_note_by_seller_buyer_and_tax(seller, buyer, exempt, buyer_vat, tax, note):
    snapshot = {**_entity(seller), "account": {"country": buyer, "tax_exempt": exempt, "tax_id": buyer_vat}}
    assert legal_mentions(snapshot, tax_amount=tax)["tax_note"] == note


def test_a_french_entity_gets_the_40_euro_indemnity_by_default():
    entity = catalog_services.legal_entity_create(actor=None, data={
        "name": "Maison SAS", "country": "FR", "currency": "EUR", "invoice_prefix": "M-", "credit_note_prefix": "MA-",
    })
    american = catalog_services.legal_entity_create(actor=None, data={
        "name": "Maison Inc.", "country": "US", "currency": "USD", "invoice_prefix": "MU-", "credit_note_prefix": "MUA-",
    })
    assert (entity.recovery_indemnity_amount, american.recovery_indemnity_amount) == (Decimal("40.00"), None)


@pytest.fixture
def legal_entity(catalog):
    return catalog_services.legal_entity_update(legal_entity=catalog.entity, actor=None, data={
        "legal_form": "SAS", "share_capital_amount": Decimal("50000.00"), "registration": "RCS Paris 123 456 789",
        "tax_id": "FR40123456789", "late_payment_rate_percent": Decimal("12.15"),
        "recovery_indemnity_amount": Decimal("40.00"), "legal_mentions": "SIRET 123 456 789 00012",
    })


def _posted(catalog, monthly, account) -> Invoice:
    activate(catalog=catalog, products=[(monthly, "2")], account=account, start=START)
    run = services.invoice_run_execute(
        run=services.invoice_run_create(actor=None, target_date=START, start=False, auto_post=True)
    )
    return Invoice.objects.get(run=run, account=account)


def _text(document) -> str:
    context = _document_context(document)
    with translation.override(document.language):
        html = render_to_string(PDF_TEMPLATE, {**context, "LANGUAGE_CODE": document.language})
    return re.sub(r"[ \t\n]+", " ", html)  # keeps the narrow no-break spaces of French amounts


def test_a_french_invoice_carries_every_legal_mention(catalog, monthly, legal_entity):
    account = AccountFactory(name="Maison Verte", country="FR", payment_terms_days=30, language="fr", tax_id="FR57123460122")
    invoice = _posted(catalog, monthly, account)
    assert invoice.snapshot["legal_entity"]["share_capital_amount"] == "50000.00"
    text = _text(invoice)
    for expected in [
        "TVA FR57123460122",  # the buyer's VAT number
        "Recur SAS · SAS au capital de 50\u202f000,00\xa0€ · RCS Paris 123 456 789 · TVA FR40123456789",
        "SIRET 123 456 789 00012",
        "Date d’échéance: 14/02/2025.",
        "Pas d’escompte pour paiement anticipé.",
        "En cas de retard de paiement : pénalités au taux annuel de 12,15 % à compter du lendemain de la date d’échéance.",
        "Tout professionnel en retard de paiement doit en outre une indemnité forfaitaire de 40,00\xa0€ pour frais de "
        "recouvrement (art. L441-10 du Code de commerce).",
        "<th class=\"r\">Taux</th>",
    ]:
        assert expected in text, expected
    assert "293 B" not in text and "Autoliquidation" not in text


def test_an_exempt_customer_reads_tva_non_applicable_in_french_and_english(catalog, monthly, legal_entity):
    account = AccountFactory(name="Association Lumière", country="FR", tax_exempt=True, language="fr")
    invoice = _posted(catalog, monthly, account)
    assert "TVA non applicable, art. 293 B du CGI." in _text(invoice)
    # A posted invoice keeps its language (frozen); an English-speaking exempt customer reads it in English.
    english = AccountFactory(name="Lumière Foundation", country="FR", tax_exempt=True, language="en")
    text = _text(_posted(catalog, monthly, english))
    assert "VAT not applicable, art. 293 B of the French tax code (CGI)." in text
    assert "Recur SAS · SAS with a share capital of €50,000.00 · RCS Paris 123 456 789 · VAT FR40123456789" in text
    assert "A business customer paying late also owes a fixed indemnity of €40.00 for collection costs" in text


def test_a_german_business_reads_the_reverse_charge_and_the_credit_note_keeps_the_seller_mentions(
    catalog, monthly, legal_entity
):
    account = AccountFactory(name="Grün GmbH", country="DE", language="fr", tax_id="DE123456789")
    invoice = _posted(catalog, monthly, account)
    assert invoice.tax_amount == Decimal("0.00")
    assert "Autoliquidation : TVA due par le preneur (art. 283-2 du CGI, art. 196 de la directive 2006/112/CE)." in _text(invoice)
    note = services.credit_note_post(
        credit_note=services.credit_note_create(invoice=invoice, lines=None, reason="Geste commercial", actor=None),
        actor=None, today=START,
    )
    text = _text(note)
    assert "Recur SAS · SAS au capital de 50\u202f000,00\xa0€ · RCS Paris 123 456 789" in text
    assert "Autoliquidation" in text and "pénalités" not in text


def test_the_pdf_renders_with_the_mentions(catalog, monthly, legal_entity):
    account = AccountFactory(name="Maison Verte", country="FR", language="fr")
    assert document_pdf_bytes(_posted(catalog, monthly, account)).startswith(b"%PDF")


def test_finance_edits_the_legal_mentions_on_the_legal_entity_page_in_french(finance_client, finance_user, catalog):
    from django.urls import reverse

    from billing_site.models import UserProfile
    from catalog.models import LegalEntity

    UserProfile.objects.create(user=finance_user, language="fr")
    entity = catalog.entity
    url = reverse("catalog:legal-entities-edit", args=[entity.pk])
    with translation.override("en"):  # the language middleware switches this thread to the user's
        page = finance_client.get(url).content.decode()
        assert "Taux des pénalités de retard (% par an)" in page and "Indemnité forfaitaire de recouvrement" in page
        data = {
            "name": entity.name, "country": "FR", "currency": "EUR", "invoice_prefix": entity.invoice_prefix,
            "credit_note_prefix": entity.credit_note_prefix, "active": "on", "legal_form": "SAS",
            "share_capital_amount": "50000,50", "registration": "RCS Paris 123 456 789",
            "late_payment_rate_percent": "12,15", "recovery_indemnity_amount": "40", "legal_mentions": "SIRET 123",
        }
        response = finance_client.post(url, data)
    assert response.status_code == 302
    entity = LegalEntity.objects.get(pk=entity.pk)
    assert (entity.legal_form, entity.share_capital_amount, entity.late_payment_rate_percent,
            entity.recovery_indemnity_amount, entity.legal_mentions) == (
        "SAS", Decimal("50000.50"), Decimal("12.15"), Decimal("40.00"), "SIRET 123")
