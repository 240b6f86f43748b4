"""What each import kind reads and which stage's services it calls.

Every kind declares its columns (matched to headers by name in English or French) and an `apply`
that turns one record (one row; for contracts, every row of one contract) into calls of the
stage's own services: the dry run and the commit run exactly the same code, the dry run inside a
transaction that is rolled back. A record is keyed by its external id (`ExternalKey`) with a
fingerprint of its values: the same values again are "unchanged", so re-importing a file changes
nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing_site.errors import ValidationFailed
from catalog.models import (
    BillingRule,
    LegalEntity,
    PriceBook,
    PriceBookEntry,
    Product,
    ProductFamily,
    TaxRule,
)
from catalog.pricing import add_months
from customers.models import Account, Contact
from imports.models import ExternalKey, Kind
from imports.parsing import normalize_header, parse_bool, parse_date, parse_decimal

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"
MAX_EXTERNAL_ID = 100


class RowError(Exception):
    """A value of the file is wrong: the column it is in and why."""

    def __init__(self, column: str, message: str):
        self.column, self.message = column, str(message)
        super().__init__(self.message)


@dataclass(frozen=True)
class Column:
    name: str
    label: object  # lazy text; its English and French forms are accepted as headers
    type: str = "text"  # text, decimal, int, date, bool, choice
    required: bool = False
    choices: tuple = ()
    aliases: tuple = ()

    def header_names(self) -> set[str]:
        names = {normalize_header(self.name), *(normalize_header(a) for a in self.aliases)}
        for language in ("en", "fr"):
            with translation.override(language):
                names.add(normalize_header(str(self.label)))
        return names


@dataclass
class Outcome:
    action: str
    object_id: int | None = None
    totals: dict = field(default_factory=dict)


@dataclass
class Context:
    actor: object
    today: dt.date
    batch_id: int | None = None
    cache: dict = field(default_factory=dict)

    def memo(self, key, load):
        if key not in self.cache:
            self.cache[key] = load()
        return self.cache[key]


def choice_map(choices) -> dict[str, str]:
    """Codes and their English and French labels → code."""
    out = {}
    for value, label in choices:
        out[normalize_header(str(value))] = value
        for language in ("en", "fr"):
            with translation.override(language):
                out[normalize_header(str(label))] = value
    return out


def convert(column: Column, raw: str):
    """A cell's text → its typed value (None when blank); RowError names the column."""
    raw = (raw or "").strip()
    if raw == "":
        if column.required:
            raise RowError(column.name, _("A value is required."))
        return None
    try:
        if column.type == "decimal":
            return parse_decimal(raw)
        if column.type == "int":
            value = parse_decimal(raw)
            if value != value.to_integral_value():
                raise ValueError(raw)
            return int(value)
        if column.type == "date":
            return parse_date(raw)
        if column.type == "bool":
            return parse_bool(raw)
    except ValueError:
        messages = {
            "decimal": _("“%(value)s” is not a number (1234.56 or 1 234,56)."),
            "int": _("“%(value)s” is not a whole number."),
            "date": _("“%(value)s” is not a date (2025-12-31 or 31/12/2025)."),
            "bool": _("“%(value)s” is not yes or no."),
        }
        raise RowError(column.name, messages[column.type] % {"value": raw}) from None
    if column.type == "choice":
        value = choice_map(column.choices).get(normalize_header(raw))
        if value is None:
            raise RowError(column.name, _("“%(value)s” is not one of: %(choices)s.") % {
                "value": raw, "choices": ", ".join(str(v) for v, _label in column.choices)})
        return value
    return raw


def fingerprint(values: dict | list) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def _key(kind: str, external_id: str) -> ExternalKey | None:
    return ExternalKey.objects.filter(kind=kind, external_id=external_id).first()


def _unchanged_or_refused(kind: str, external_id: str, fp: str, *, column: str, refusal: str) -> Outcome | None:
    """A record that cannot change once imported (a contract, an opening invoice): unchanged when the
    same values come again, refused with `refusal` when others do, None when it is new."""
    key = _key(kind, external_id)
    if key is None:
        return None
    if key.fingerprint == fp:
        return Outcome(UNCHANGED, key.object_id)
    raise RowError(column, refusal % {"id": external_id})


def _remember(ctx: Context, kind: str, external_id: str, object_id: int, fp: str, key: ExternalKey | None) -> None:
    if key is None:
        ExternalKey.objects.create(kind=kind, external_id=external_id, object_id=object_id, fingerprint=fp, batch_id=ctx.batch_id)
    else:
        ExternalKey.objects.filter(pk=key.pk).update(fingerprint=fp, batch_id=ctx.batch_id)


def _account(ctx: Context, ref: str, column: str = "account") -> Account:
    """An account by its external id, else by its Recur number."""
    def load():
        key = _key(Kind.ACCOUNTS, ref)
        if key is not None:
            return Account.objects.filter(pk=key.object_id).first()
        return Account.objects.filter(number=ref).first()
    account = ctx.memo(("account", ref), load)
    if account is None:
        raise RowError(column, _("Unknown account “%(ref)s”.") % {"ref": ref})
    return account


def _product(ctx: Context, ref: str, column: str = "product") -> Product:
    def load():
        key = _key(Kind.PRODUCTS, ref)
        if key is not None:
            return Product.objects.select_related("billing_rule").filter(pk=key.object_id).first()
        return Product.objects.select_related("billing_rule").filter(sku=ref).first()
    product = ctx.memo(("product", ref), load)
    if product is None:
        raise RowError(column, _("Unknown product “%(ref)s”.") % {"ref": ref})
    return product


def _named(ctx: Context, model, name: str | None, column: str):
    if not name:
        return None
    obj = ctx.memo((model.__name__, name), lambda: model.objects.filter(name=name).first())
    if obj is None:
        raise RowError(column, _("Unknown %(what)s “%(name)s”.") % {"what": model._meta.verbose_name, "name": name})
    return obj


def _upsert(ctx: Context, *, kind: str, external_id: str, values: dict, create, update, model) -> Outcome:
    """Create, update or leave unchanged a record kept by external id, through the given services."""
    fp = fingerprint(values)
    key = _key(kind, external_id)
    obj = model.objects.filter(pk=key.object_id).first() if key is not None else None
    if obj is not None and key.fingerprint == fp:
        return Outcome(UNCHANGED, obj.pk)
    if obj is None:
        obj = create()
        action = CREATE
    else:
        update(obj)
        action = UPDATE
    _remember(ctx, kind, external_id, obj.pk, fp, key)
    return Outcome(action, obj.pk)


# --- accounts and contacts ---------------------------------------------------------------

ACCOUNT_COLUMNS = [
    Column("external_id", gettext_lazy("External id"), required=True, aliases=("id", "identifiant externe", "code client")),
    Column("name", gettext_lazy("Name"), required=True, aliases=("nom", "raison sociale")),
    Column("legal_name", gettext_lazy("Legal name")),
    Column("country", gettext_lazy("Country"), required=True, aliases=("pays",)),
    Column("currency", gettext_lazy("Currency"), required=True, aliases=("devise",)),
    Column("language", gettext_lazy("Document language"), type="choice", choices=tuple(Account.Language.choices), aliases=("langue",)),
    Column("payment_terms_days", gettext_lazy("Payment terms (days)"), type="int", aliases=("delai de paiement",)),
    Column("billing_day", gettext_lazy("Billing day"), type="int", aliases=("jour de facturation",)),
    Column("tax_id", gettext_lazy("Tax / VAT id"), aliases=("vat", "tva", "numero de tva")),
    Column("tax_exempt", gettext_lazy("Tax exempt"), type="bool"),
    Column("billing_emails", gettext_lazy("Billing emails"), aliases=("email", "emails de facturation")),
    Column("address_line1", gettext_lazy("Address"), aliases=("adresse",)),
    Column("address_line2", gettext_lazy("Address (line 2)")),
    Column("postal_code", gettext_lazy("Postal code"), aliases=("code postal", "zip")),
    Column("city", gettext_lazy("City"), aliases=("ville",)),
    Column("region", gettext_lazy("Region")),
    Column("credit_limit_amount", gettext_lazy("Credit limit"), type="decimal", aliases=("credit_limit",)),
    Column("notes", gettext_lazy("Notes")),
]


def account_data(row: dict) -> tuple[str, dict]:
    """An accounts row → its external id and the data `account_create` receives."""
    values = dict(row)
    external_id = values.pop("external_id")
    data = {k: v for k, v in values.items() if v is not None}
    for code in ("country", "currency"):
        if code in data:
            data[code] = data[code].upper()
    return external_id, data


def apply_account(ctx: Context, rows: list[dict]) -> Outcome:
    from customers.services import account_create, account_update

    external_id, data = account_data(rows[0])
    outcome = _upsert(
        ctx, kind=Kind.ACCOUNTS, external_id=external_id, values=data, model=Account,
        create=lambda: account_create(actor=ctx.actor, data=data),
        update=lambda obj: account_update(account=obj, actor=ctx.actor, data=data),
    )
    outcome.totals = {"accounts": 1} if outcome.action != UNCHANGED else {}
    return outcome


CONTACT_COLUMNS = [
    Column("external_id", gettext_lazy("External id"), required=True, aliases=("id", "identifiant externe")),
    Column("account", gettext_lazy("Account"), required=True, aliases=("compte", "account_external_id", "client")),
    Column("first_name", gettext_lazy("First name"), required=True, aliases=("prenom",)),
    Column("last_name", gettext_lazy("Last name"), required=True, aliases=("nom",)),
    Column("email", gettext_lazy("Email"), required=True, aliases=("e-mail", "courriel")),
    Column("phone", gettext_lazy("Phone"), aliases=("telephone",)),
    Column("title", gettext_lazy("Job title"), aliases=("fonction",)),
    Column("is_billing_contact", gettext_lazy("Billing contact"), type="bool", aliases=("contact de facturation",)),
]


def apply_contact(ctx: Context, rows: list[dict]) -> Outcome:
    from customers.services import contact_create, contact_update

    values = dict(rows[0])
    external_id = values.pop("external_id")
    account = _account(ctx, values.pop("account"))
    data = {k: v for k, v in values.items() if v is not None}
    return _upsert(
        ctx, kind=Kind.CONTACTS, external_id=external_id, values={**data, "account": account.pk}, model=Contact,
        create=lambda: contact_create(account=account, actor=ctx.actor, data=data),
        update=lambda obj: contact_update(contact=obj, actor=ctx.actor, data=data),
    )


# --- products and prices -----------------------------------------------------------------

PRODUCT_COLUMNS = [
    Column("external_id", gettext_lazy("External id"), required=True, aliases=("id", "identifiant externe")),
    Column("sku", gettext_lazy("SKU"), required=True, aliases=("reference", "ref")),
    Column("name", gettext_lazy("Name"), required=True, aliases=("nom", "libelle")),
    Column("description", gettext_lazy("Description")),
    Column("charge_type", gettext_lazy("Charge type"), type="choice", required=True, choices=tuple(Product.ChargeType.choices),
           aliases=("type de facturation",)),
    Column("billing_type", gettext_lazy("Billing type"), type="choice", choices=tuple(Product.BillingType.choices)),
    Column("billing_frequency", gettext_lazy("Billing frequency"), type="choice",
           choices=tuple((str(v), label) for v, label in Product.Frequency.choices), aliases=("frequence",)),
    Column("default_term_months", gettext_lazy("Default term (months)"), type="int", aliases=("duree (mois)",)),
    Column("unit_of_measure", gettext_lazy("Unit of measure"), aliases=("unite",)),
    Column("billing_rule", gettext_lazy("Billing rule"), aliases=("regle de facturation",)),
    Column("tax_rule", gettext_lazy("Tax rule"), aliases=("regle fiscale",)),
    Column("family", gettext_lazy("Family"), aliases=("famille",)),
    Column("active", gettext_lazy("Active"), type="bool", aliases=("actif",)),
    Column("needs_delivery", gettext_lazy("Needs delivery"), type="bool", aliases=("a livrer",)),
]


def apply_product(ctx: Context, rows: list[dict]) -> Outcome:
    from catalog.services import product_create, product_update

    values = dict(rows[0])
    external_id = values.pop("external_id")
    data = {k: v for k, v in values.items() if v is not None}
    plain = dict(data)
    if "billing_frequency" in data:
        data["billing_frequency"] = int(data["billing_frequency"])
    data["billing_rule"] = _named(ctx, BillingRule, data.get("billing_rule"), "billing_rule")
    data["tax_rule"] = _named(ctx, TaxRule, data.get("tax_rule"), "tax_rule")
    data["family"] = _named(ctx, ProductFamily, data.get("family"), "family")
    data = {k: v for k, v in data.items() if v is not None}
    return _upsert(
        ctx, kind=Kind.PRODUCTS, external_id=external_id, values=plain, model=Product,
        create=lambda: product_create(actor=ctx.actor, data=data),
        update=lambda obj: product_update(product=obj, actor=ctx.actor, data=data),
    )


PRICE_COLUMNS = [
    Column("external_id", gettext_lazy("External id"), required=True, aliases=("id", "identifiant externe")),
    Column("price_book", gettext_lazy("Price book"), required=True, aliases=("catalogue de prix", "liste de prix")),
    Column("product", gettext_lazy("Product"), required=True, aliases=("produit", "sku")),
    Column("pricing_model", gettext_lazy("Pricing model"), type="choice", required=True, choices=tuple(PriceBookEntry.Model.choices),
           aliases=("modele de prix",)),
    Column("unit_price", gettext_lazy("Unit price"), type="decimal", aliases=("prix unitaire", "prix")),
    Column("package_size", gettext_lazy("Package size"), type="decimal", aliases=("taille du lot",)),
    Column("free_units", gettext_lazy("Free units"), type="decimal", aliases=("unites gratuites",)),
    Column("tiers", gettext_lazy("Tiers"), aliases=("paliers",)),
    Column("active", gettext_lazy("Active"), type="bool", aliases=("actif",)),
]


def parse_tiers(text: str | None) -> list[dict] | None:
    """`0|10|5.00|0; 10||4,50|` → tier rows (from, up to excluded, unit price, flat fee)."""
    if not text:
        return None
    tiers = []
    for number, part in enumerate((p for p in text.split(";") if p.strip()), start=1):
        cells = [c.strip() for c in part.split("|")] + ["", "", "", ""]
        try:
            lower, upper, price, fee = (parse_decimal(c) if c else None for c in cells[:4])
        except ValueError:
            raise RowError("tiers", _("Tier %(number)s: write from|up to|unit price|flat fee, e.g. 0|10|5.00|0.")
                           % {"number": number}) from None
        tiers.append({"lower": lower, "upper": upper, "unit_price": price, "flat_fee": fee or Decimal("0")})
    return tiers


def apply_price(ctx: Context, rows: list[dict]) -> Outcome:
    from catalog.services import entry_save

    values = dict(rows[0])
    external_id = values.pop("external_id")
    book = _named(ctx, PriceBook, values["price_book"], "price_book")
    product = _product(ctx, values["product"])
    tiers = parse_tiers(values.get("tiers"))
    data = {k: values[k] for k in ("pricing_model", "unit_price", "package_size", "free_units", "active") if values.get(k) is not None}
    existing = PriceBookEntry.objects.filter(price_book=book, product=product).first()
    return _upsert(
        ctx, kind=Kind.PRICES, external_id=external_id, values=values, model=PriceBookEntry,
        create=lambda: entry_save(actor=ctx.actor, product=product, price_book=book, data=data, tiers=tiers or [],
                                  entry=existing),
        update=lambda obj: entry_save(actor=ctx.actor, product=product, price_book=book, data=data, tiers=tiers or [],
                                      entry=obj),
    )


# --- orders and running contracts ----------------------------------------------------------

CONTRACT_COLUMNS = [
    Column("contract_id", gettext_lazy("Contract id"), required=True, aliases=("external_id", "contrat", "id contrat")),
    Column("account", gettext_lazy("Account"), required=True, aliases=("compte", "client")),
    Column("price_book", gettext_lazy("Price book"), aliases=("catalogue de prix", "liste de prix")),
    Column("start_date", gettext_lazy("Start date"), type="date", required=True, aliases=("date de debut", "debut")),
    Column("term_months", gettext_lazy("Term (months)"), type="int", aliases=("duree (mois)", "duree")),
    Column("end_date", gettext_lazy("End date"), type="date", aliases=("date de fin", "fin")),
    Column("evergreen", gettext_lazy("Evergreen"), type="bool", aliases=("tacite reconduction",)),
    Column("billed_through", gettext_lazy("Billed through"), type="date", aliases=("facture jusqu'au", "facture jusqu au")),
    Column("product", gettext_lazy("Product"), required=True, aliases=("produit", "sku")),
    Column("quantity", gettext_lazy("Quantity"), type="decimal", required=True, aliases=("quantite",)),
    Column("unit_price", gettext_lazy("Unit price"), type="decimal", aliases=("prix unitaire", "prix")),
    Column("line_start_date", gettext_lazy("Line start date"), type="date", aliases=("debut de ligne",)),
    Column("line_end_date", gettext_lazy("Line end date"), type="date", aliases=("fin de ligne",)),
]
CONTRACT_LEVEL = ("account", "price_book", "start_date", "term_months", "end_date", "evergreen", "billed_through")


def contract_lines_agree(rows: list[dict]) -> None:
    """Every line of one contract carries the same contract columns."""
    head = rows[0]
    for row in rows[1:]:
        for name in CONTRACT_LEVEL:
            if row.get(name) not in (None, head.get(name)):
                raise RowError(name, _("Every line of contract %(id)s must have the same %(column)s.")
                               % {"id": head["contract_id"], "column": name})


def contract_terms(head: dict, *, today: dt.date) -> tuple[int | None, bool, dt.date | None]:
    """The contract's term in months (from the term or the end date), evergreen, and billed-through date."""
    start = head["start_date"]
    evergreen = bool(head.get("evergreen"))
    term = head.get("term_months")
    if head.get("end_date") is not None:
        months = (head["end_date"].year - start.year) * 12 + head["end_date"].month - start.month
        if months < 1 or add_months(anchor=start, months=months) != head["end_date"]:
            raise RowError("end_date", _("The end date must fall a whole number of months after the start (e.g. 2025-01-01 → 2026-01-01)."))
        if term is not None and term != months:
            raise RowError("term_months", _("The term does not match the end date."))
        term = months
    if term is None and not evergreen:
        raise RowError("term_months", _("Give the term in months, the end date, or mark the contract evergreen."))
    billed = head.get("billed_through")
    if billed is not None and billed > today:
        raise RowError("billed_through", _("The billed-through date is in the future."))
    return term, evergreen, billed


def contract_order_data(*, head: dict, account, book, term: int | None, evergreen: bool) -> dict:
    """What `order_create` receives for an imported contract."""
    return {
        "account": account, "price_book": book, "start_date": head["start_date"], "term_months": term or 12,
        "evergreen": evergreen, "notes": _("Imported contract %(id)s") % {"id": head["contract_id"]},
    }


def standard_book(ctx: Context, currency: str):
    book = ctx.memo(("standard", currency),
                    lambda: PriceBook.objects.filter(currency=currency, is_standard=True, active=True)
                    .select_related("legal_entity").first())
    if book is None:
        raise RowError("price_book", _("No standard price book in %(currency)s; name one.") % {"currency": currency})
    return book


def contract_book(ctx: Context, head: dict, account):
    if head.get("price_book"):
        return _named(ctx, PriceBook, head["price_book"], "price_book")
    return standard_book(ctx, account.currency)


def line_mrr(*, product, order_product) -> Fraction:
    """A recurring line's monthly amount (net unit price × quantity ÷ price term)."""
    op = order_product
    if product.charge_type != Product.ChargeType.RECURRING:
        return Fraction(0)
    return Fraction(op.net_unit_price) * Fraction(op.quantity) / (op.price_term_months or 12)


def mrr_cents(mrr: Fraction) -> Decimal:
    return (Decimal(mrr.numerator) / Decimal(mrr.denominator)).quantize(Decimal("0.01"))


LINE_COLUMNS = {"quantity": "quantity", "net_unit_price": "unit_price", "start_date": "line_start_date",
                "end_date": "line_end_date", "product": "product"}
ACTIVATION_COLUMNS = {"billed_through": "billed_through", "products": "product"}


def apply_contract(ctx: Context, rows: list[dict]) -> Outcome:
    """One contract (its rows are its lines): a draft order, its products, then activation from the
    day after `billed_through`, all through the contracts stage's services."""
    from contracts.services import order_activate, order_create, order_product_add

    contract_lines_agree(rows)
    head = rows[0]
    external_id = head["contract_id"]
    fp = fingerprint(rows)
    known = _unchanged_or_refused(Kind.CONTRACTS, external_id, fp, column="contract_id", refusal=_(
        "Contract %(id)s was already imported with other values; change it with an amendment."))
    if known is not None:
        return known
    account = _account(ctx, head["account"])
    book = contract_book(ctx, head, account)
    term, evergreen, billed = contract_terms(head, today=ctx.today)
    order = order_create(actor=ctx.actor, data=contract_order_data(head=head, account=account, book=book, term=term,
                                                                   evergreen=evergreen))
    mrr = Fraction(0)
    for row in rows:
        product = _product(ctx, row["product"])
        with _columns(LINE_COLUMNS):
            op = order_product_add(
                order=order, actor=ctx.actor, product=product, quantity=row["quantity"],
                start_date=row.get("line_start_date"), end_date=row.get("line_end_date"), net_unit_price=row.get("unit_price"),
            )
        mrr += line_mrr(product=product, order_product=op)
    with _columns(ACTIVATION_COLUMNS):
        contract = order_activate(order=order, actor=ctx.actor, today=ctx.today, billed_through=billed, migrated=True)
    _remember(ctx, Kind.CONTRACTS, external_id, contract.pk, fp, None)
    return Outcome(CREATE, contract.pk, totals={"contracts": 1, "mrr": mrr_cents(mrr)})


class _columns:
    """Re-raise a service's field errors as a RowError on the file's column for that field."""

    def __init__(self, fields_to_columns: dict):
        self.map = fields_to_columns

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, ValidationFailed) and exc.fields:
            name, message = error_of(exc)
            raise RowError(self.map.get(name, name), message) from exc
        return False


def error_of(exc) -> tuple[str, str]:
    """A service's refusal as (field, message): its own sentence when it has one, else the field's messages."""
    fields = getattr(exc, "fields", None) or {}
    if fields:
        name, messages = next(iter(fields.items()))
        message = " ".join(messages)
        if str(getattr(exc, "message", "")) not in ("", message, str(ValidationFailed.default_message)):
            message = str(exc.message)
        return name, message
    return "", str(exc)


# --- opening balances ----------------------------------------------------------------------

OPENING_COLUMNS = [
    Column("external_id", gettext_lazy("External id"), required=True, aliases=("id", "identifiant externe")),
    Column("account", gettext_lazy("Account"), required=True, aliases=("compte", "client")),
    Column("number", gettext_lazy("Invoice number"), required=True, aliases=("numero de facture", "numero")),
    Column("invoice_date", gettext_lazy("Invoice date"), type="date", required=True, aliases=("date de facture",)),
    Column("due_date", gettext_lazy("Due date"), type="date", required=True, aliases=("date d'echeance", "echeance")),
    Column("open_amount", gettext_lazy("Open amount"), type="decimal", required=True, aliases=("montant restant du", "solde")),
    Column("currency", gettext_lazy("Currency"), aliases=("devise",)),
    Column("legal_entity", gettext_lazy("Legal entity"), aliases=("societe", "entite")),
]


def apply_opening(ctx: Context, rows: list[dict]) -> Outcome:
    from invoicing.models import Invoice
    from invoicing.services import invoice_create_opening

    values = dict(rows[0])
    external_id = values.pop("external_id")
    fp = fingerprint(values)
    known = _unchanged_or_refused(Kind.OPENING, external_id, fp, column="external_id", refusal=_(
        "Opening invoice %(id)s was already imported with other values; correct it with a credit note."))
    if known is not None:
        return known
    account = _account(ctx, values["account"])
    entity = _named(ctx, LegalEntity, values.get("legal_entity"), "legal_entity")
    if entity is None:
        entity = ctx.memo(("entity", account.currency), lambda: _default_entity(account.currency))
        if entity is None:
            raise RowError("legal_entity", _("Name the legal entity that issued this invoice."))
    with _columns({}):
        invoice: Invoice = invoice_create_opening(
            account=account, legal_entity=entity, number=values["number"], invoice_date=values["invoice_date"],
            due_date=values["due_date"], open_amount=values["open_amount"], currency=(values.get("currency") or "").upper() or None,
            actor=ctx.actor,
        )
    _remember(ctx, Kind.OPENING, external_id, invoice.pk, fp, None)
    return Outcome(CREATE, invoice.pk, totals={"opening": invoice.total_amount})


def _default_entity(currency: str):
    book = PriceBook.objects.filter(currency=currency, is_standard=True).select_related("legal_entity").first()
    if book is not None and book.legal_entity is not None:
        return book.legal_entity
    entities = list(LegalEntity.objects.filter(active=True)[:2])
    return entities[0] if len(entities) == 1 else None


@dataclass(frozen=True)
class KindSpec:
    kind: str
    columns: list[Column]
    apply: object
    group_by: str = "external_id"
    grouped: bool = False  # several rows make one record (a contract's lines)


KINDS: dict[str, KindSpec] = {
    Kind.ACCOUNTS: KindSpec(Kind.ACCOUNTS, ACCOUNT_COLUMNS, apply_account),
    Kind.CONTACTS: KindSpec(Kind.CONTACTS, CONTACT_COLUMNS, apply_contact),
    Kind.PRODUCTS: KindSpec(Kind.PRODUCTS, PRODUCT_COLUMNS, apply_product),
    Kind.PRICES: KindSpec(Kind.PRICES, PRICE_COLUMNS, apply_price),
    Kind.CONTRACTS: KindSpec(Kind.CONTRACTS, CONTRACT_COLUMNS, apply_contract, group_by="contract_id", grouped=True),
    Kind.OPENING: KindSpec(Kind.OPENING, OPENING_COLUMNS, apply_opening),
}
