"""Every import kind with good rows, every kind of bad row, the re-import that changes nothing, and a
migrated contract whose first Recur invoice covers exactly the first period after its billed-through date."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from catalog.models import PriceBook, PriceBookEntry, PriceTier, Product
from contracts.models import Contract, ScheduleEntry, Subscription
from contracts.tests.factories import Catalog
from customers.models import Account, Contact
from imports import services
from imports.models import ExternalKey, ImportBatch
from imports.parsing import parse_date, parse_decimal
from invoicing import services as invoicing_services
from invoicing.models import Invoice

pytestmark = pytest.mark.django_db

TODAY = date(2025, 11, 20)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel("2025-11-20 12:00 +01:00", tick=False):
        yield


def upload(kind, text, *, actor=None, filename="data.csv", encoding="utf-8"):
    content = text.encode(encoding) if isinstance(text, str) else text
    return services.import_upload(kind=kind, filename=filename, content=content, actor=actor)


def commit(batch, mode="all"):
    services.import_commit(batch=batch, actor=None, mode=mode)
    return services.import_execute(batch_id=batch.pk)


def rows(batch):
    return [tuple(r) for r in batch.counts["results"]]


# --- parsing -------------------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("1234.56", "1234.56"), ("1 234,56", "1234.56"), ("1\u202f234,56", "1234.56"), ("1,234.56", "1234.56"),
    ("1.234,56", "1234.56"), ("1234,5", "1234.5"), ("-12", "-12"), ("0,000001", "0.000001"),
])
def test_numbers_in_english_and_french(text, value):
    assert parse_decimal(text) == Decimal(value)


@pytest.mark.parametrize("text", ["12a", "1,2,3.4.5", "", "abc", "1.2.3"])
def test_bad_numbers_are_refused(text):
    with pytest.raises(ValueError):
        parse_decimal(text)


def test_dates_in_iso_and_day_first():
    assert parse_date("2025-12-31") == parse_date("31/12/2025") == parse_date("31.12.2025") == date(2025, 12, 31)
    with pytest.raises(ValueError):
        parse_date("12/31/2025")


# --- accounts --------------------------------------------------------------------------------

ACCOUNTS = (
    "external_id,name,country,currency,payment_terms_days,billing_day,credit_limit_amount\n"
    "C-1,Acme,FR,EUR,45,5,\"10 000,50\"\n"
    "C-2,Globex,DE,EUR,30,1,\n"
)


def test_accounts_dry_run_writes_nothing_then_commit_creates_them():
    batch = upload("accounts", ACCOUNTS)
    assert batch.status == ImportBatch.Status.PREVIEWED
    assert rows(batch) == [(2, "C-1", "create", "", ""), (3, "C-2", "create", "", "")]
    assert batch.totals == {"accounts": "2"}
    assert Account.objects.count() == 0 and ExternalKey.objects.count() == 0
    batch = commit(batch)
    assert batch.status == ImportBatch.Status.DONE
    acme = Account.objects.get(name="Acme")
    assert (acme.country, acme.payment_terms_days, acme.billing_day, acme.credit_limit_amount) == ("FR", 45, 5, Decimal("10000.50"))
    assert ExternalKey.objects.get(kind="accounts", external_id="C-1").object_id == acme.pk


def test_reimporting_the_same_file_changes_nothing_and_a_changed_row_updates():
    commit(upload("accounts", ACCOUNTS))
    again = upload("accounts", ACCOUNTS)
    assert again.counts["create"] == 0 and again.counts["unchanged"] == 2
    commit(again)
    assert Account.objects.count() == 2
    changed = upload("accounts", ACCOUNTS.replace("Globex,DE", "Globex Corp,DE"))
    assert rows(changed)[1] == (3, "C-2", "update", "", "")
    commit(changed)
    assert Account.objects.filter(name="Globex Corp").count() == 1


def test_french_headers_and_semicolons_with_a_bom():
    text = "\ufeffIdentifiant externe;Nom;Pays;Devise;Délai de paiement\nC-9;Société Générale;FR;EUR;60\n"
    batch = commit(upload("accounts", text))
    assert Account.objects.get(name="Société Générale").payment_terms_days == 60
    assert batch.counts["mapping"] == {"Identifiant externe": "external_id", "Nom": "name", "Pays": "country",
                                       "Devise": "currency", "Délai de paiement": "payment_terms_days"}


def test_a_file_that_is_not_utf8_is_refused_with_a_clear_message():
    from billing_site.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        upload("accounts", "external_id,name,country,currency\nC-1,Société,FR,EUR\n", encoding="latin-1")
    assert exc.value.fields == {"file": ["The file is not UTF-8 text (byte 43). Save it as “CSV UTF-8” and upload it again."]}


def test_missing_column_makes_every_row_an_error():
    batch = upload("accounts", "external_id,name,currency\nC-1,Acme,EUR\n")
    assert batch.message == "Missing column: country."
    assert rows(batch) == [(2, "", "error", "country", "Missing column: country.")]


def test_bad_rows_name_their_column_and_reason():
    text = (
        "external_id,name,country,currency,billing_day,credit_limit_amount\n"
        "C-1,Acme,FR,EUR,1,12x\n"          # bad number
        "C-2,Globex,XX,EUR,1,\n"           # the service refuses the country
        "C-1,Again,FR,EUR,1,\n"            # duplicate external id
        "C-3,,FR,EUR,1,\n"                 # missing value
        "C-4,Initech,FR,EUR,\"1,5\",\n"    # not a whole number
    )
    batch = upload("accounts", text)
    assert rows(batch) == [
        (2, "", "error", "credit_limit_amount", "“12x” is not a number (1234.56 or 1 234,56)."),
        (3, "", "error", "country", "“XX” is not an ISO 3166 country code."),
        (4, "", "error", "external_id", "Duplicate external id C-1 (first on row 2)."),
        (5, "", "error", "name", "A value is required."),
        (6, "", "error", "billing_day", "“1,5” is not a whole number."),
    ]
    assert batch.counts["error"] == 5


def test_unknown_headers_can_be_mapped_on_the_preview():
    batch = upload("accounts", "ref client,name,country,currency\nC-1,Acme,FR,EUR\n")
    assert batch.counts["unknown"] == ["ref client"]
    assert batch.message == "Missing column: external_id."
    batch = services.import_set_mapping(batch=batch, actor=None, mapping={"ref client": "external_id"})
    assert batch.message == "" and rows(batch) == [(2, "C-1", "create", "", "")]


def test_all_or_nothing_refuses_a_file_with_errors_and_good_rows_imports_the_rest():
    from billing_site.errors import ValidationFailed

    batch = upload("accounts", ACCOUNTS + "C-3,Bad,XX,EUR,30,1,\n")
    with pytest.raises(ValidationFailed) as exc:
        services.import_commit(batch=batch, actor=None, mode="all")
    assert str(exc.value) == "1 rows have errors: fix them and upload the file again, or import only the good rows."
    batch = commit(batch, mode="good")
    assert batch.status == ImportBatch.Status.DONE
    assert sorted(Account.objects.values_list("name", flat=True)) == ["Acme", "Globex"]
    assert [e["row"] for e in batch.errors] == [4]


def test_error_rows_download_as_csv(finance_client):
    batch = upload("accounts", ACCOUNTS + "C-3,Bad,XX,EUR,30,1,\n")
    response = finance_client.get(f"/imports/{batch.pk}/errors.csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines() == [
        "external_id,name,country,currency,payment_terms_days,billing_day,credit_limit_amount,error column,error",
        "C-3,Bad,XX,EUR,30,1,,country,“XX” is not an ISO 3166 country code.",
    ]


def test_xlsx_upload():
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["external_id", "name", "country", "currency", "billing_day"])
    sheet.append(["C-1", "Acme", "FR", "EUR", 15])
    out = io.BytesIO()
    book.save(out)
    commit(upload("accounts", out.getvalue(), filename="accounts.xlsx"))
    assert Account.objects.get().billing_day == 15


# --- contacts ---------------------------------------------------------------------------------

def test_contacts_attach_to_imported_accounts_and_unknown_accounts_are_errors():
    commit(upload("accounts", ACCOUNTS))
    batch = upload("contacts", "external_id,account,first_name,last_name,email,is_billing_contact\n"
                               "P-1,C-1,Marie,Curie,marie@acme.example,oui\n"
                               "P-2,C-404,Jean,Dupont,jean@example.com,non\n")
    assert rows(batch)[1] == (3, "", "error", "account", "Unknown account “C-404”.")
    commit(batch, mode="good")
    contact = Contact.objects.get()
    assert (contact.account.name, contact.email, contact.is_billing_contact) == ("Acme", "marie@acme.example", True)


# --- products and prices -------------------------------------------------------------------------

@pytest.fixture
def catalog():
    return Catalog()


def test_products_and_prices_of_every_pricing_model(catalog):
    rule = catalog.rule().name
    products = (
        "external_id,sku,name,charge_type,billing_type,billing_frequency,default_term_months,billing_rule\n"
        f"P-1,PLAT,Platform,Récurrent,À échoir,Mensuelle,12,{rule}\n"
        f"P-2,API,API calls,usage,arrears,monthly,,{rule}\n"
        f"P-3,SETUP,Setup,one_time,advance,1,,{rule}\n"
    )
    batch = upload("products", products)
    assert batch.counts["error"] == 0, batch.errors
    commit(batch)
    assert Product.objects.get(sku="PLAT").charge_type == "recurring"
    prices = (
        "external_id,price_book,product,pricing_model,unit_price,package_size,free_units,tiers\n"
        "E-1,Standard EUR,PLAT,per_unit,\"1 200,00\",,,\n"
        "E-2,Standard EUR,SETUP,flat,500,,,\n"
        "E-3,Standard EUR,API,tiered,,,,0|1000|0.10|0; 1000||0.05|5\n"
        "E-4,Standard USD,API,volume,,,,0|100|1|0; 100||0.5|0\n"
    )
    batch = upload("prices", prices)
    assert batch.counts["error"] == 0, batch.errors
    batch = commit(batch)
    assert batch.counts["create"] == 4
    books = PriceBook.objects.filter(name__in=["Standard EUR", "Standard USD"])
    more = (
        "external_id,price_book,product,pricing_model,unit_price,package_size,free_units,tiers\n"
        "E-5,Standard USD,PLAT,block,,,,0|10|100|0; 10||150|0\n"
        "E-6,Standard USD,SETUP,package,25,10,2,\n"
    )
    commit(upload("prices", more))
    models = dict(PriceBookEntry.objects.filter(price_book__in=books).values_list("product__sku", "pricing_model")
                  .filter(price_book__currency="USD"))
    assert models == {"API": "volume", "PLAT": "block", "SETUP": "package"}
    assert list(PriceTier.objects.filter(entry__product__sku="API", entry__price_book__currency="EUR")
                .values_list("lower", "upper", "unit_price", "flat_fee")) == [
        (Decimal("0"), Decimal("1000"), Decimal("0.10"), Decimal("0")),
        (Decimal("1000"), None, Decimal("0.05"), Decimal("5")),
    ]
    assert upload("prices", prices).counts["unchanged"] == 4


def test_a_price_the_catalog_refuses_is_an_error_row(catalog):
    catalog.product("API", charge_type="usage", billing_type="arrears", frequency=1, books=())
    batch = upload("prices", "external_id,price_book,product,pricing_model,unit_price\n"
                             "E-1,Standard EUR,API,flat,10\nE-2,Standard EUR,NOPE,flat,10\n")
    assert rows(batch) == [
        (2, "", "error", "pricing_model", "A usage product needs a per-unit, tiered, volume, block or package price."),
        (3, "", "error", "product", "Unknown product “NOPE”."),
    ]


# --- contracts --------------------------------------------------------------------------------

@pytest.fixture
def migrated(catalog):
    catalog.product("PLAT", price="1200.00", frequency=1)   # monthly, priced per 12 months
    catalog.product("SUPPORT", price="600.00", frequency=3)  # quarterly
    commit(upload("accounts", ACCOUNTS))
    return catalog


CONTRACTS = (
    "contract_id,account,start_date,term_months,billed_through,product,quantity,unit_price\n"
    "K-1,C-1,01/01/2025,24,30/09/2025,PLAT,10,\"1 080,00\"\n"
    "K-1,C-1,01/01/2025,24,30/09/2025,SUPPORT,2,\n"
    "K-2,C-2,2025-03-15,12,,PLAT,1,\n"
)


def test_contracts_import_with_billed_through_and_monthly_recurring_amount(migrated):
    batch = upload("contracts", CONTRACTS)
    assert rows(batch) == [(2, "K-1", "create", "", ""), (3, "K-1", "create", "", ""), (4, "K-2", "create", "", "")]
    # 10 × 1080/12 + 2 × 600/12 + 1 × 1200/12
    assert batch.totals == {"contracts": "2", "mrr": "1100.00"}
    assert Contract.objects.count() == 0
    commit(batch)
    k1 = Contract.objects.get(account__name="Acme")
    assert (k1.start_date, k1.end_date) == (date(2025, 1, 1), date(2027, 1, 1))
    plat = Subscription.objects.get(contract=k1, product__sku="PLAT")
    assert plat.unit_price == Decimal("1080.00")
    first = ScheduleEntry.objects.filter(subscription=plat).order_by("period_start").first()
    assert (first.period_start, first.period_end, first.amount) == (date(2025, 10, 1), date(2025, 11, 1), Decimal("900.00"))
    assert upload("contracts", CONTRACTS).counts["unchanged"] == 3


def test_the_first_recur_invoice_covers_exactly_the_period_after_billed_through(migrated):
    commit(upload("contracts", CONTRACTS))
    run = invoicing_services.invoice_run_execute(
        run=invoicing_services.invoice_run_create(actor=None, target_date=date(2025, 10, 1), start=False)
    )
    invoice = Invoice.objects.get(account__name="Acme", run=run)
    # Billed through 30 Sep by the old system: October for the monthly line, Q4 for the quarterly one.
    assert sorted((line.period_start, line.period_end, line.net_amount) for line in invoice.lines.all()) == [
        (date(2025, 10, 1), date(2025, 11, 1), Decimal("900.00")),
        (date(2025, 10, 1), date(2026, 1, 1), Decimal("300.00")),
    ]
    # K-2 (no billed-through date) bills from its start.
    globex = Invoice.objects.get(account__name="Globex", run=run)
    assert min(line.period_start for line in globex.lines.all()) == date(2025, 3, 15)


def test_billed_through_not_on_a_period_boundary_is_an_error(migrated):
    batch = upload("contracts", "contract_id,account,start_date,term_months,billed_through,product,quantity\n"
                                "K-9,C-1,2025-01-01,12,2025-10-15,PLAT,1\n")
    assert rows(batch) == [(2, "", "error", "billed_through", "Plat: billed through 2025-10-15 is not the end of a billing period.")]


def test_contract_bad_rows(migrated):
    text = ("contract_id,account,start_date,term_months,billed_through,product,quantity,unit_price\n"
            "K-1,C-404,2025-01-01,12,,PLAT,1,\n"          # unknown account
            "K-2,C-1,2025-01-01,12,,NOPE,1,\n"            # unknown product
            "K-3,C-1,31/02/2025,12,,PLAT,1,\n"            # bad date
            "K-4,C-1,2025-01-01,12,,PLAT,\"1 0\",abc\n"   # bad number
            "K-5,C-1,2025-01-01,12,,PLAT,0,\n")           # the service refuses the quantity
    batch = upload("contracts", text)
    assert rows(batch) == [
        (2, "", "error", "account", "Unknown account “C-404”."),
        (3, "", "error", "product", "Unknown product “NOPE”."),
        (4, "", "error", "start_date", "“31/02/2025” is not a date (2025-12-31 or 31/12/2025)."),
        (5, "", "error", "unit_price", "“abc” is not a number (1234.56 or 1 234,56)."),
        (6, "", "error", "quantity", "Enter a quantity greater than zero."),
    ]
    assert Contract.objects.count() == 0


# --- opening balances ------------------------------------------------------------------------------

def test_opening_balances_become_posted_opening_invoices_that_take_payments(migrated):
    text = ("external_id,account,number,invoice_date,due_date,open_amount\n"
            "O-1,C-1,OLD-118,15/09/2025,15/10/2025,\"1 234,56\"\n"
            "O-2,C-1,OLD-119,2025-10-01,2025-09-01,10\n")
    batch = upload("opening", text)
    assert rows(batch)[1] == (3, "", "error", "due_date", "The due date is before the invoice date.")
    assert batch.totals == {"opening": "1234.56"}
    commit(batch, mode="good")
    invoice = Invoice.objects.get(number="OLD-118")
    assert (invoice.kind, invoice.status, invoice.total_amount, invoice.due_date) == (
        "opening", "posted", Decimal("1234.56"), date(2025, 10, 15))
    assert [(line.source, line.net_amount, line.tax_amount) for line in invoice.lines.all()] == [("opening", Decimal("1234.56"), Decimal("0"))]
    # It ages like any invoice (36 days past due on 20 Nov) and takes payments.
    from payments.selectors.balances import invoice_balance
    from payments.selectors.reports import aging_report
    from payments.services import payment_allocate, payment_record

    aging = aging_report(today=TODAY, currency="EUR")
    assert aging["rows"][0]["buckets"]["d31_60"] == Decimal("1234.56")
    payment = payment_record(account=invoice.account, amount=Decimal("1000.00"), currency="EUR", received_date=TODAY,
                             method="bank_transfer", today=TODAY)
    payment_allocate(payment=payment, invoice=invoice, amount=Decimal("1000.00"), today=TODAY)
    assert invoice_balance(invoice) == Decimal("234.56")
    assert upload("opening", text).counts["unchanged"] == 1
    changed = upload("opening", text.replace('"1 234,56"', '"1 300,00"'))
    assert rows(changed)[0] == (2, "", "error", "external_id",
                                "Opening invoice O-1 was already imported with other values; correct it with a credit note.")


@pytest.mark.parametrize("column,value,message", [
    ("start_date", "2025-13-01", "“2025-13-01” is not a date (2025-12-31 or 31/12/2025)."),
    ("start_date", "32/01/2025", "“32/01/2025” is not a date (2025-12-31 or 31/12/2025)."),
    ("quantity", "1.234,5,6", "“1.234,5,6” is not a number (1234.56 or 1 234,56)."),
    ("quantity", "1,23.4.5", "“1,23.4.5” is not a number (1234.56 or 1 234,56)."),
])
def test_bad_dates_and_numbers_in_both_locales(migrated, column, value, message):
    cells = {"contract_id": "K-1", "account": "C-1", "start_date": "2025-01-01", "term_months": "12", "product": "PLAT",
             "quantity": "1"}
    cells[column] = value
    batch = upload("contracts", ",".join(cells) + "\n" + ",".join(f'"{v}"' for v in cells.values()) + "\n")
    assert rows(batch) == [(2, "", "error", column, message)]


def test_a_one_time_line_the_old_system_billed_is_not_billed_again(migrated):
    migrated.product("SETUP", price="500.00", charge_type="one_time")
    commit(upload("contracts", "contract_id,account,start_date,term_months,billed_through,product,quantity\n"
                               "K-5,C-1,2025-01-01,12,2025-09-30,SETUP,1\nK-5,C-1,2025-01-01,12,2025-09-30,PLAT,1\n"))
    entries = ScheduleEntry.objects.filter(contract__order__notes="Imported contract K-5")
    assert not entries.filter(kind="one_time").exists()
    assert entries.order_by("period_start").values_list("period_start", "amount").first() == (date(2025, 10, 1), Decimal("100.00"))
