import datetime as dt
from decimal import Decimal as D

import pytest

from billing_site.errors import ValidationFailed
from payments import services
from payments.models import Payment, StatementImport, StatementLine
from payments.parsers import parse_amount, parse_camt053
from payments.selectors import invoice_balance
from payments.tests.factories import AccountFactory, posted_invoice

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 10)


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1234.56", D("1234.56")), ("1 234,56", D("1234.56")), ("1\u202f234,56", D("1234.56")), ("1.234,56", D("1234.56")),
     ("1,234.56", D("1234.56")), ("-12,00", D("-12.00")), ("99", D("99"))],
)
def test_amounts_in_english_and_french_formats(text, amount):
    assert parse_amount(text) == amount


@pytest.fixture
def books(db):
    martin = AccountFactory(name="Boulangeries Martin", legal_name="Boulangeries Martin SAS")
    other = AccountFactory(name="Atelier Dufresne")
    a = posted_invoice(martin, ["1234.56"], invoice_date=dt.date(2026, 5, 1), number="INV-000101")
    b = posted_invoice(martin, ["300.00"], invoice_date=dt.date(2026, 5, 2), number="INV-000102")
    c = posted_invoice(other, ["300.00"], invoice_date=dt.date(2026, 5, 3), number="INV-000103")
    return martin, other, a, b, c


CSV = (
    b"date;amount;currency;reference;counterparty\n"
    b"2026-06-01;1 234,56;EUR;VIR FACTURE INV-000101;BOULANGERIES MARTIN SAS\n"
    b"02/06/2026;300,00;EUR;Paiement mai;VIR SEPA BOULANGERIES MARTIN\n"
    b"2026-06-03;300,00;EUR;merci;Unknown payer\n"
    b"2026-06-04;45,00;EUR;divers;Someone\n"
    b"2026-06-05;-20,00;EUR;frais bancaires;Banque\n"
)


def test_import_matches_by_number_then_amount_and_account(books):
    martin, _other, a, b, c = books
    statement, created = services.statement_import(file_name="june.csv", content=CSV, today=TODAY)
    assert created and (statement.lines_count, statement.matched_count) == (5, 2)
    rows = list(statement.lines.order_by("line_no").values_list("status", "amount"))
    assert rows == [("matched", D("1234.56")), ("matched", D("300.00")), ("ambiguous", D("300.00")),
                    ("unmatched", D("45.00")), ("ignored", D("-20.00"))]
    assert [invoice_balance(i) for i in (a, b, c)] == [D("0.00"), D("0.00"), D("300.00")]
    ambiguous = statement.lines.get(line_no=3)
    assert list(ambiguous.candidate_invoices.all()) == [c]
    # The same file again creates nothing new.
    again, created = services.statement_import(file_name="june-copy.csv", content=CSV, today=TODAY)
    assert (again.pk, created) == (statement.pk, False)
    assert (StatementImport.objects.count(), StatementLine.objects.count(), Payment.objects.count()) == (1, 5, 2)


def test_review_queue_match_assign_ignore(books, finance_user):
    martin, other, a, b, c = books
    statement, _ = services.statement_import(file_name="june.csv", content=CSV, today=TODAY)
    line3, line4 = statement.lines.get(line_no=3), statement.lines.get(line_no=4)
    services.statement_line_match(line=line3, invoices=[c], today=TODAY, actor=finance_user)
    assert invoice_balance(c) == D("0.00")
    services.statement_line_assign(line=line4, account=other, today=TODAY, actor=finance_user)
    line4.refresh_from_db()
    assert (line4.status, line4.payment.unapplied_amount, line4.payment.account) == ("matched", D("45.00"), other)
    with pytest.raises(Exception) as exc:
        services.statement_line_ignore(line=line4, actor=finance_user)
    assert str(exc.value) == "This line is already resolved."
    statement.refresh_from_db()
    assert statement.matched_count == 4


def test_bad_csv_line_is_refused_with_its_number():
    with pytest.raises(ValidationFailed) as exc:
        services.statement_import(file_name="x.csv", content=b"date,amount,currency\n2026-01-01,abc,EUR\n", today=TODAY)
    assert exc.value.fields == {"file": ["Line 2: “abc” is not an amount."]}
    assert StatementImport.objects.count() == 0


CAMT = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt><GrpHdr><MsgId>STMT-1</MsgId><CreDtTm>2026-06-06T08:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>1</Id>
   <Ntry><Amt Ccy="EUR">1234.56</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-06-01</Dt></BookgDt>
    <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>BOULANGERIES MARTIN SAS</Nm></Dbtr></RltdPties>
     <RmtInf><Ustrd>FACTURE INV-000101</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
   <Ntry><Amt Ccy="EUR">20.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2026-06-02</Dt></BookgDt>
    <AddtlNtryInf>Frais</AddtlNtryInf></Ntry>
  </Stmt></BkToCstmrStmt></Document>"""


def test_camt053_entries_are_read_and_matched(books):
    lines = parse_camt053(CAMT)
    assert [(x.booking_date, x.amount, x.currency, x.reference, x.counterparty) for x in lines] == [
        (dt.date(2026, 6, 1), D("1234.56"), "EUR", "FACTURE INV-000101", "BOULANGERIES MARTIN SAS"),
        (dt.date(2026, 6, 2), D("-20.00"), "EUR", "Frais", ""),
    ]
    statement, _ = services.statement_import(file_name="camt.xml", content=CAMT, today=TODAY)
    assert (statement.format, statement.matched_count) == ("camt053", 1)
    assert invoice_balance(books[2]) == D("0.00")
