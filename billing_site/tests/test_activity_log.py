"""The activity log reads like a sentence in the reader's language: events and fields labelled,
quantities and amounts formatted per locale, people by their full names, notes translated."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from billing_site.audit import audit_history
from customers import services as customer_services
from payments import services as payment_services
from payments.tests.factories import AccountFactory, posted_invoice
from quotes import services as quote_services
from quotes.tests.factories import catalog, draft

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 10)


def _rows(obj, language) -> list[list[str]]:
    with translation.override(language):
        html = render_to_string("billing_site/_activity_table.html", {"rows": audit_history(obj)})
    rows = []
    for tr in re.findall(r"<tr data-action=[^>]*>(.*?)</tr>", html, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        rows.append(cells[1:])  # without the time
    return rows


def test_quote_lines_read_with_formatted_quantities_and_labelled_fields(sales_user):
    sales_user.first_name, sales_user.last_name = "Samuel", "Martin"
    sales_user.save()
    cat = catalog()
    quote = draft(actor=sales_user, account=AccountFactory(), book=cat["book"])
    line = quote_services.quote_line_add(quote=quote, actor=sales_user, product=cat["platform"], quantity="10")
    quote_services.quote_line_update(line=line, actor=sales_user, data={"quantity": "12.5", "discount_percent": "5"})
    english, french = _rows(quote, "en"), _rows(quote, "fr")
    assert english[0][0] == "Samuel Martin"
    assert [r[2:] for r in english[:2]] == [
        ["Line changed", "", "", "PLAT-USER: Discount (%), Quantity"],
        ["Line added", "", "", "PLAT-USER × 10"],
    ]
    assert [r[2] for r in french[:2]] == ["Ligne modifiée", "Ligne ajoutée"]
    assert french[0][5] == "PLAT-USER : Remise (%), Quantité"


def test_payments_read_in_the_readers_language(finance_user):
    account = AccountFactory()
    invoice = posted_invoice(account, ["1234.50"], invoice_date=TODAY)
    payment = payment_services.payment_record(
        account=account, amount=Decimal("1234.50"), currency="EUR", received_date=TODAY, method="bank_transfer",
        today=TODAY, actor=finance_user, auto_allocate=True,
    )
    assert _rows(payment, "fr") == [
        ["fiona", str(payment), "Affecté", "", "", f"1\u202f234,50\xa0€ du paiement n° {payment.pk} à {invoice.number}"],
        ["fiona", str(payment), "Paiement enregistré", "", "reçu", "1\u202f234,50\xa0€ reçus par Virement"],
    ]
    assert _rows(invoice, "en")[0][2:] == ["Payment allocated", "", "", f"€1,234.50 of payment no. {payment.pk} to {invoice.number}"]


def test_an_account_update_names_its_fields_and_states_are_labelled(finance_user):
    account = AccountFactory()
    customer_services.account_update(account=account, actor=finance_user, data={"payment_terms_days": 45, "name": "Maison Bleue"})
    assert _rows(account, "fr")[0][2:] == ["Mis à jour", "", "", "Nom, Délai de paiement (jours)"]
    invoice = posted_invoice(account, ["10.00"], invoice_date=TODAY)
    assert _rows(invoice, "fr") == [["Système", invoice.number, "Comptabilisée", "Brouillon", "Comptabilisée", ""]]
