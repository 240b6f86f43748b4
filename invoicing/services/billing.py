"""The billing engine: what is due for a set of accounts, built into documents, written once.

Three steps, used alike by invoice runs, the preview and cancel & rebill:

1. `load_context` reads, in a handful of queries, everything a group of accounts needs: their due
   schedule entries (joined with subscription, product, billing rule and contract), the accounts,
   legal entities, tax rules, usage totals and the invoice lines that credits refer to.
2. `build_account` turns one account's entries into documents in memory (pure: no queries). Charges,
   one-time fees and rated usage become invoice lines; amendment credits (negative entries) become
   credit note lines. Documents are grouped per account, currency, legal entity and payment terms,
   and per contract when the billing rule says so (DESIGN §3). Any problem fails the whole account
   with a reason: nothing is ever skipped silently.
3. `write_bills` writes a group of accounts in ONE transaction with bulk statements (COPY on
   PostgreSQL for lines) and marks the entries billed with one conditional UPDATE; if fewer entries
   change than were billed, the schedule moved under us and the transaction is rolled back.

Exactly once is held by the database: `InvoiceLine.billing_key` (UNIQUE) and the conditional UPDATE
of the entries; account rows are locked (SKIP LOCKED) so two runs never build the same account.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.db import connection
from django.db.models import Sum
from django.db.models.expressions import RawSQL
from django.utils import translation
from django.utils.translation import gettext as _

from billing_site.countries import country_name
from billing_site.errors import DomainError
from billing_site.money import round_money, round_unit, sum_money
from catalog.models import LegalEntity, TaxRule
from catalog.pricing import Factor, PriceSpec, PricingError, price_for_quantity, tax_for_line
from catalog.pricing import spec_from_snapshot as catalog_spec_from_snapshot
from catalog.selectors import tax_rate_for
from contracts.models import ScheduleEntry, Subscription
from customers.models import Account, split_emails
from invoicing.models import InvoiceLine, LineSource, UsageRecord
from invoicing.schedule import due_entries_q

Kind = ScheduleEntry.Kind
ZERO = Decimal("0")

ENTRY_FIELDS = (
    "id", "account_id", "subscription_id", "contract_id", "kind", "period_start", "period_end", "full_start",
    "full_end", "bill_on", "quantity", "unit_price", "price_term_months", "period_months", "factor_numerator",
    "factor_denominator", "amount", "currency", "credits_id", "note",
    "subscription__product__name", "subscription__legal_entity_id", "subscription__tax_rule_id",
    "subscription__billing_rule__invoice_grouping", "contract__payment_terms_days", "contract__number",
    "subscription__billing_rule__net_amendments", "source_order_id", "source_order__type", "source_order__number", "is_delta",
)
ACCOUNT_FIELDS = (
    "id", "number", "name", "legal_name", "address_line1", "address_line2", "postal_code", "city", "region",
    "country", "tax_id", "tax_exempt", "language", "billing_emails",
)
SOURCE_OF_KIND = {
    Kind.CHARGE: LineSource.SUBSCRIPTION,
    Kind.ONE_TIME: LineSource.ONE_TIME,
    Kind.USAGE: LineSource.USAGE,
    Kind.CREDIT: LineSource.AMENDMENT_CREDIT,
}


class AccountFailed(Exception):
    """An account cannot be billed; the message says why, for the run's error list."""


@dataclass
class LineDraft:
    entry_id: int | None
    subscription_id: int | None
    source: str
    description: str
    period_start: dt.date | None
    period_end: dt.date | None
    quantity: Decimal
    unit_price: Decimal
    factor_numerator: int
    factor_denominator: int
    factor_display: str
    net_amount: Decimal
    tax_rate_percent: Decimal
    tax_label: str
    tax_amount: Decimal
    total_amount: Decimal
    invoice_line_id: int | None = None  # credit lines: the invoice line they credit
    amendment_id: int | None = None  # lines written by an amendment order (netted on one document)


@dataclass
class DocDraft:
    """An invoice or credit note to write: its grouping key and lines."""

    is_credit: bool
    account_id: int
    legal_entity_id: int
    currency: str
    payment_terms_days: int
    contract_id: int | None
    language: str
    lines: list[LineDraft] = field(default_factory=list)

    @property
    def subtotal_amount(self) -> Decimal:
        return sum_money((line.net_amount for line in self.lines), self.currency)

    @property
    def tax_amount(self) -> Decimal:
        return sum_money((line.tax_amount for line in self.lines), self.currency)

    @property
    def total_amount(self) -> Decimal:
        return self.subtotal_amount + self.tax_amount

    @property
    def invoice_ids(self) -> set[int]:
        return {line.invoice_line_id for line in self.lines if line.invoice_line_id}


@dataclass
class UsageRating:
    entry_id: int
    subscription_id: int
    period_start: dt.date
    period_end: dt.date
    quantity: Decimal
    amount: Decimal


@dataclass
class AccountBill:
    account_id: int
    documents: list[DocDraft] = field(default_factory=list)
    ratings: list[UsageRating] = field(default_factory=list)
    error: str = ""

    @property
    def entry_ids(self) -> list[int]:
        return [line.entry_id for doc in self.documents for line in doc.lines if line.entry_id]

    @property
    def invoices(self) -> list[DocDraft]:
        return [d for d in self.documents if not d.is_credit]

    @property
    def credit_notes(self) -> list[DocDraft]:
        return [d for d in self.documents if d.is_credit]


@dataclass
class BillingContext:
    target_date: dt.date
    accounts: dict[int, dict]
    entries: dict[int, list[dict]]
    legal_entities: dict[int, dict]
    tax_rules: dict[int, TaxRule]
    usage_daily: dict[int, list[tuple[dt.date, Decimal]]]
    usage_specs: dict[int, PriceSpec | str]
    credited_lines: dict[int, dict]
    _tax_cache: dict = field(default_factory=dict)

    def tax_rate(self, *, tax_rule_id, legal_entity_id, account) -> tuple[Decimal, str]:
        key = (tax_rule_id, legal_entity_id, account["country"], account["tax_exempt"])
        if key not in self._tax_cache:
            result = tax_rate_for(
                tax_rule=self.tax_rules.get(tax_rule_id), legal_entity=legal_entity_id,
                country=account["country"], tax_exempt=account["tax_exempt"],
            )
            self._tax_cache[key] = (result.rate_percent, result.label)
        return self._tax_cache[key]


class ReferenceCache:
    """Legal entities and tax rules change rarely: read them once per chunk, not per group."""

    def __init__(self):
        self._entities = None
        self._tax_rules = None
        self._queries: dict = {}

    def compiled(self, key, build):
        """A statement compiled once per chunk (the ORM's compilation is paid once, not per group)."""
        if key not in self._queries:
            self._queries[key] = build()
        return self._queries[key]

    @property
    def legal_entities(self) -> dict[int, dict]:
        if self._entities is None:
            self._entities = {
                row["id"]: row
                for row in LegalEntity.objects.values(
                    "id", "name", "address_line1", "address_line2", "postal_code", "city", "country", "tax_id",
                    "currency", "invoice_prefix", "credit_note_prefix", "bank_details", "email", "website",
                    "legal_form", "share_capital_amount", "registration", "late_payment_rate_percent",
                    "recovery_indemnity_amount", "legal_mentions",
                )
            }
        return self._entities

    @property
    def tax_rules(self) -> dict[int, TaxRule]:
        if self._tax_rules is None:
            self._tax_rules = {rule.pk: rule for rule in TaxRule.objects.prefetch_related("rates")}
        return self._tax_rules


def load_context(
    *, account_ids, target_date: dt.date, filters: dict | None = None, entry_ids=None, refs: ReferenceCache | None = None
) -> BillingContext:
    """Everything needed to bill these accounts up to `target_date`, in a few queries."""
    refs = refs or ReferenceCache()
    account_ids = list(account_ids)
    if entry_ids is None and is_postgresql():
        rows, accounts = _load_due_pg(account_ids=account_ids, target_date=target_date, filters=filters, refs=refs)
    else:
        if entry_ids is not None:
            entry_qs = ScheduleEntry.objects.filter(id__in=list(entry_ids), status=ScheduleEntry.Status.PENDING)
        else:
            entry_qs = ScheduleEntry.objects.filter(due_entries_q(target_date=target_date, filters=filters))
        rows = list(entry_qs.filter(account_id__in=account_ids).order_by(*ENTRY_ORDER).values(*ENTRY_FIELDS))
        accounts = {row["id"]: row for row in Account.objects.filter(id__in=account_ids).values(*ACCOUNT_FIELDS)}
    entries: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        entries[row["account_id"]].append(row)

    usage_rows = [r for r in rows if r["kind"] == Kind.USAGE]
    usage_daily: dict[int, list] = defaultdict(list)
    usage_specs: dict[int, PriceSpec | str] = {}
    if usage_rows:
        subscription_ids = {r["subscription_id"] for r in usage_rows}
        lowest = min(r["period_start"] for r in usage_rows)
        highest = max(r["period_end"] for r in usage_rows)
        for rec in (
            UsageRecord.objects.filter(subscription_id__in=subscription_ids, business_date__gte=lowest, business_date__lt=highest)
            .values("subscription_id", "business_date")
            .annotate(total=Sum("quantity"))
        ):
            usage_daily[rec["subscription_id"]].append((rec["business_date"], rec["total"]))
        for sub in Subscription.objects.filter(id__in=subscription_ids).values("id", "pricing_snapshot", "unit_price"):
            usage_specs[sub["id"]] = spec_from_snapshot(sub["pricing_snapshot"], sub["unit_price"])

    credited_ids = [r["credits_id"] for r in rows if r["kind"] == Kind.CREDIT and r["credits_id"]]
    credited_lines: dict[int, dict] = {}
    if credited_ids:
        for line in InvoiceLine.objects.filter(billing_key__in=credited_ids).values("id", "billing_key", "invoice_id", "tax_rate_percent", "tax_label", "invoice__number", "position"):
            credited_lines[line["billing_key"]] = dict(line)  # type: ignore[index]  # billing_key__in: never NULL here
    return BillingContext(
        target_date=target_date, accounts=accounts, entries=entries, legal_entities=refs.legal_entities,
        tax_rules=refs.tax_rules, usage_daily=usage_daily, usage_specs=usage_specs, credited_lines=credited_lines,
    )


ENTRY_ORDER = ("account_id", "contract_id", "subscription_id", "period_start", "id")
_ARRAY = "{}"  # the account ids' parameter in a compiled statement, replaced per group


def _array(ids) -> str:
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


def _compile(queryset) -> tuple[str, list, int]:
    sql, params = queryset.query.sql_with_params()
    params = list(params)
    return sql, params, params.index(_ARRAY)


def _load_due_pg(*, account_ids, target_date, filters, refs: ReferenceCache) -> tuple[list[dict], dict[int, dict]]:
    """PostgreSQL: the group's due entries and accounts through statements compiled once per chunk, the
    account ids passed as one array (a group is 100 accounts and ~1,200 entries)."""
    ids = RawSQL("SELECT unnest(%s::bigint[])", [_ARRAY])
    key = ("entries", target_date, repr(sorted((filters or {}).items())))
    entry_sql = refs.compiled(key, lambda: _compile(
        ScheduleEntry.objects.filter(due_entries_q(target_date=target_date, filters=filters), account_id__in=ids)
        .order_by(*ENTRY_ORDER).values_list(*ENTRY_FIELDS)))
    account_sql = refs.compiled("accounts", lambda: _compile(Account.objects.filter(id__in=ids).values_list(*ACCOUNT_FIELDS)))
    array = _array(account_ids)
    with connection.cursor() as cursor:
        sql, params, at = entry_sql
        params = list(params)
        params[at] = array
        cursor.execute(sql, params)
        rows = [dict(zip(ENTRY_FIELDS, row, strict=True)) for row in cursor.fetchall()]
        sql, params, at = account_sql
        params = list(params)
        params[at] = array
        cursor.execute(sql, params)
        accounts = {row[0]: dict(zip(ACCOUNT_FIELDS, row, strict=True)) for row in cursor.fetchall()}
    return rows, accounts


def spec_from_snapshot(snapshot: dict | None, unit_price) -> PriceSpec | str:
    """The subscription's pricing (the price book entry as quoted) as a PriceSpec, or why not."""
    snapshot = snapshot or {}
    if not snapshot.get("model"):
        return PriceSpec(model="per_unit", unit_price=unit_price)
    try:
        return catalog_spec_from_snapshot(snapshot)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return _("The subscription's pricing cannot be read (%(error)s).") % {"error": exc}


def _descriptions(language: str) -> dict[str, str]:
    with translation.override(language):
        return {
            Kind.CHARGE: "%(product)s",
            Kind.ONE_TIME: _("%(product)s (one-time)"),
            Kind.USAGE: _("%(product)s (usage)"),
            Kind.CREDIT: _("%(product)s: credit for the amended period"),
        }


_DESCRIPTIONS: dict[str, dict] = {}


def _describe(kind: str, product: str, language: str, note: str) -> str:
    if language not in _DESCRIPTIONS:
        _DESCRIPTIONS[language] = _descriptions(language)
    text = _DESCRIPTIONS[language][kind] % {"product": product}
    return f"{text} — {note}"[:300] if note else text[:300]


_FACTOR_TEXT: dict[tuple[int, int], str] = {}


def _factor_text(numerator: int, denominator: int) -> str:
    key = (numerator, denominator)
    if key not in _FACTOR_TEXT:
        _FACTOR_TEXT[key] = str(Factor(numerator, denominator))
    return _FACTOR_TEXT[key]


def rate_usage(ctx: BillingContext, row: dict) -> tuple[Decimal, Decimal]:
    """(period total quantity, amount) of a usage entry: the period's usage priced as one quantity."""
    spec = ctx.usage_specs.get(row["subscription_id"])
    if isinstance(spec, str):
        raise AccountFailed(spec)
    assert spec is not None, "load_context reads a spec (or why not) for every usage subscription it loads"
    quantity = sum(
        (q for day, q in ctx.usage_daily.get(row["subscription_id"], ()) if row["period_start"] <= day < row["period_end"]),
        ZERO,
    )
    try:
        price = price_for_quantity(spec=spec, quantity=quantity)
    except PricingError as exc:
        raise AccountFailed(
            _("Usage of %(product)s cannot be priced: %(error)s") % {"product": row["subscription__product__name"], "error": exc.message}
        ) from exc
    return round_unit(quantity), round_money(price, row["currency"])


def build_account(ctx: BillingContext, account_id: int) -> AccountBill:
    """The documents one account gets (pure: no query). A problem fails the account with its reason."""
    bill = AccountBill(account_id=account_id)
    account = ctx.accounts.get(account_id)
    try:
        if account is None:
            raise AccountFailed(_("The account no longer exists."))
        documents: dict[tuple, DocDraft] = {}
        language = account["language"] or "en"
        for row in ctx.entries.get(account_id, ()):
            bill_line(ctx, bill, documents, account, row, language)
        bill.documents = net_amendments(documents)
    except (AccountFailed, DomainError) as exc:
        bill.documents, bill.ratings, bill.error = [], [], str(getattr(exc, "message", exc))
    return bill


def bill_line(ctx, bill, documents, account, row, language) -> None:
    currency = row["currency"]
    kind = row["kind"]
    amount = row["amount"]
    quantity = row["quantity"]
    if kind == Kind.USAGE:
        quantity, amount = rate_usage(ctx, row)
        bill.ratings.append(
            UsageRating(row["id"], row["subscription_id"], row["period_start"], row["period_end"], quantity, amount)
        )
    if amount is None:
        raise AccountFailed(
            _("The schedule entry %(id)s of %(product)s has no amount.") % {"id": row["id"], "product": row["subscription__product__name"]}
        )
    if round_money(amount, currency) != amount:
        raise AccountFailed(
            _("The schedule entry %(id)s has an amount that is not rounded to %(currency)s.") % {"id": row["id"], "currency": currency}
        )
    legal_entity_id = row["subscription__legal_entity_id"]
    if legal_entity_id not in ctx.legal_entities:
        raise AccountFailed(_("The legal entity of %(product)s is missing.") % {"product": row["subscription__product__name"]})
    per_contract = row["subscription__billing_rule__invoice_grouping"] == "contract"
    is_credit = kind == Kind.CREDIT
    if is_credit and amount > 0:
        raise AccountFailed(_("The credit entry %(id)s has a positive amount.") % {"id": row["id"]})
    if not is_credit and amount < 0:
        raise AccountFailed(_("The schedule entry %(id)s has a negative amount.") % {"id": row["id"]})
    terms = row["contract__payment_terms_days"]
    # One amendment, one document: its credits and charges are kept together, then netted.
    amendment_id = None
    if row["source_order__type"] == "amendment" and row["subscription__billing_rule__net_amendments"]:
        amendment_id = row["source_order_id"]
    key = (is_credit, currency, legal_entity_id, terms, row["contract_id"] if per_contract else None, amendment_id)
    doc = documents.get(key)
    if doc is None:
        doc = documents[key] = DocDraft(
            is_credit=is_credit, account_id=bill.account_id, legal_entity_id=legal_entity_id, currency=currency,
            payment_terms_days=terms, contract_id=key[4], language=language,
        )
    # Lines are signed as on an invoice (a credit is negative) and flipped if they land on a credit note.
    net = amount
    credited = ctx.credited_lines.get(row["credits_id"]) if is_credit else None
    if credited is not None:
        rate, label = credited["tax_rate_percent"], credited["tax_label"]
    else:
        rate, label = ctx.tax_rate(tax_rule_id=row["subscription__tax_rule_id"], legal_entity_id=legal_entity_id, account=account)
    tax = tax_for_line(net_amount=net, rate_percent=rate, currency=currency)
    if kind == Kind.USAGE:
        unit_price = round_unit(amount / quantity) if quantity else ZERO
        numerator = denominator = 1
        factor_display = ""
    else:
        quantity = abs(quantity)
        if kind == Kind.ONE_TIME:
            unit_price = row["unit_price"]
        else:
            unit_price = _period_price(row["unit_price"], row["period_months"] or 1, row["price_term_months"] or 12)
        numerator, denominator = row["factor_numerator"], row["factor_denominator"]
        # The days counted over the days of the full period, as printed: '12/31 = 0.387097'.
        factor_display = _factor_text(numerator, denominator) if kind != Kind.ONE_TIME else ""
    description = _describe(kind, row["subscription__product__name"], language, row["note"])
    if row["is_delta"]:
        description = _describe_delta(kind, row["subscription__product__name"], language, quantity, row["source_order__number"], credited)
    doc.lines.append(
        LineDraft(
            entry_id=row["id"], subscription_id=row["subscription_id"], source=SOURCE_OF_KIND[kind],
            description=description,
            period_start=row["period_start"], period_end=row["period_end"], quantity=quantity, unit_price=unit_price,
            factor_numerator=numerator, factor_denominator=denominator, factor_display=factor_display,
            net_amount=net, tax_rate_percent=rate, tax_label=label, tax_amount=tax, total_amount=net + tax,
            invoice_line_id=credited["id"] if credited else None, amendment_id=amendment_id,
        )
    )


def net_amendments(documents: dict[tuple, DocDraft]) -> list[DocDraft]:
    """The account's documents, each amendment's credits and charges netted on one document.

    An amendment's charge-only or credit-only group joins the ordinary invoice or credit note of
    its key. A group holding both is netted: its lines join the run's invoice of that key (negative
    credit lines) when the net is positive or zero, else they make a credit note with negative charge
    lines
    (billing rule `net_amendments`, on by default; off, amendment lines are grouped as any other)."""
    result: dict[tuple, DocDraft] = {}
    amendments: dict[tuple, list[DocDraft]] = {}
    for key, doc in documents.items():
        if key[5] is None:
            result[key] = doc
        else:
            amendments.setdefault(key[1:], []).append(doc)
    netted = []
    for key, docs in amendments.items():
        if len(docs) == 1:
            doc = docs[0]
            plain = (doc.is_credit, *key[:4], None)
            if plain in result:
                result[plain].lines.extend(doc.lines)
            else:
                result[plain] = doc
            continue
        lines = [line for doc in docs for line in doc.lines]
        doc = docs[0]
        doc.is_credit = sum((line.net_amount for line in lines), ZERO) < 0
        # The document's own kind of line first (charges on an invoice, credits on a credit note).
        doc.lines = sorted(lines, key=lambda line: (line.net_amount > 0) if doc.is_credit else (line.net_amount < 0))
        invoice = result.get((False, *key[:4], None))
        if not doc.is_credit and invoice is not None:
            # A positive net joins the account's invoice of this run: one document for the customer.
            invoice.lines.extend(doc.lines)
            continue
        netted.append(doc)
    out = [*result.values(), *netted]
    for doc in out:
        if doc.is_credit:
            for line in doc.lines:
                line.net_amount, line.tax_amount, line.total_amount = -line.net_amount, -line.tax_amount, -line.total_amount
    return out


def _describe_delta(kind: str, product: str, language: str, quantity: Decimal, order: str, credited: dict | None) -> str:
    """'Seat: +3 added by amendment ORD-00012'; a credit names the invoice line it corrects."""
    units = format(quantity.normalize(), "f")
    with translation.override(language):
        if kind == Kind.CREDIT:
            text = _("%(product)s: −%(units)s credited by amendment %(order)s") % {"product": product, "units": units, "order": order}
            if credited is not None:
                text += " " + _("(corrects invoice %(invoice)s, line %(line)s)") % {
                    "invoice": credited["invoice__number"] or credited["invoice_id"], "line": credited["position"],
                }
        else:
            text = _("%(product)s: +%(units)s added by amendment %(order)s") % {"product": product, "units": units, "order": order}
    return text[:300]


_PERIOD_PRICE: dict = {}


def _period_price(unit_price: Decimal, months: int, term: int) -> Decimal:
    """The price of one full period (unit price is for the price term), to 6 places, for display."""
    key = (unit_price, months, term)
    if key not in _PERIOD_PRICE:
        if len(_PERIOD_PRICE) > 10_000:
            _PERIOD_PRICE.clear()
        exact = Fraction(unit_price) * Fraction(months, term)
        _PERIOD_PRICE[key] = round_unit(Decimal(exact.numerator) / Decimal(exact.denominator))
    return _PERIOD_PRICE[key]


def _text(value) -> str:
    """A Decimal kept exact in the JSON snapshot ("" when unset)."""
    return "" if value is None else str(value)


_COUNTRY_NAMES: dict[tuple[str, str], str] = {}


def _country_name(code: str) -> str:
    """The country's name in the active language, remembered (a run names the same few countries 50,000 times)."""
    key = (translation.get_language() or "en", code)
    if key not in _COUNTRY_NAMES:
        _COUNTRY_NAMES[key] = country_name(code)
    return _COUNTRY_NAMES[key]


def snapshot_for(*, account: dict, legal_entity: dict, contract_number: str | None = None, payment_terms_days: int) -> dict:
    """What a posted document prints, frozen: the account's and legal entity's details at posting."""

    def lines(row, with_region=False):
        city = " ".join(p for p in [row.get("postal_code"), row.get("city")] if p)
        parts = [row.get("address_line1"), row.get("address_line2"), city]
        if with_region:
            parts.append(row.get("region"))
        parts.append(_country_name(row["country"]) if row.get("country") else "")
        return [p for p in parts if p]

    return {
        "account": {
            "number": account["number"], "name": account["name"], "legal_name": account["legal_name"] or account["name"],
            "address_lines": lines(account, with_region=True), "country": account["country"], "tax_id": account["tax_id"],
            "tax_exempt": account["tax_exempt"], "language": account["language"],
            "billing_emails": split_emails(account["billing_emails"]),
        },
        "legal_entity": {
            "name": legal_entity["name"], "address_lines": lines(legal_entity), "tax_id": legal_entity["tax_id"],
            "bank_details": legal_entity["bank_details"], "email": legal_entity["email"], "website": legal_entity["website"],
            "country": legal_entity.get("country", ""), "currency": legal_entity.get("currency", ""),
            "legal_form": legal_entity.get("legal_form", ""), "registration": legal_entity.get("registration", ""),
            "share_capital_amount": _text(legal_entity.get("share_capital_amount")),
            "late_payment_rate_percent": _text(legal_entity.get("late_payment_rate_percent")),
            "recovery_indemnity_amount": _text(legal_entity.get("recovery_indemnity_amount")),
            "legal_mentions": legal_entity.get("legal_mentions", ""),
        },
        "contract": contract_number or "",
        "payment_terms_days": payment_terms_days,
    }


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"
