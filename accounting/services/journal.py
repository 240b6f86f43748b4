"""Building the books from posted documents, in bulk and exactly once.

Invoicing and payments do not know accounting exists (the flow points one way), so the books are
built after the fact: `books_process` journals every posted invoice, credit note, payment and refund
that has no entry yet, and writes the revenue schedule of every invoice and credit note line.

Exactly once is the database's job: an entry is UNIQUE per (kind, source document) and a schedule
row per (line, kind, period). Each chunk is one transaction; a chunk that loses a race to another
processor rolls back whole (IntegrityError) and the next pass skips what the winner wrote. One
processor per legal entity works at a time (it locks the entity's `Books` row): recognition and
credit notes read which rows are still deferred, and that read must not go stale before it is used.

Posting rules (DESIGN §3):
- invoice: Dr receivable (total) / Cr deferred revenue (net still to earn) / Cr revenue (net earned
  at once: rows of past periods and `at_date` lines) / Cr VAT collected (tax);
- credit note: the reverse, taking from what is still deferred on the credited line first (latest
  periods first), then reducing revenue already recognized, in the open period;
- recognition: Dr deferred / Cr revenue for the rows of the periods up to the one recognized;
- payment: Dr bank / Cr receivable; refund: Dr receivable / Cr bank. What a payment leaves
  unapplied stays a credit on the customer's receivable sub-account (unapplied cash).
Anything dated in a closed period lands in the next open period.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Subquery, Sum

from accounting.models import (
    AccountRole,
    Books,
    ChartAccount,
    FinancePeriod,
    JournalEntry,
    JournalLine,
    RecognitionTiming,
    RevenueLine,
)
from accounting.recognition import Rule, recognition_rows
from accounting.services.books import books_ensure, chart_roles, periods_ensure
from billing_site import clock
from billing_site.money import round_money
from catalog.models import LegalEntity, PriceBookEntry, Product
from contracts.models import Order, Subscription
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, LineSource
from payments.models import Payment, Refund

log = logging.getLogger(__name__)
ZERO = Decimal("0")
# Signed amounts of one entry per (chart account, customer id or None).
Amounts = defaultdict[tuple[ChartAccount, int | None], Decimal]
CHUNK = 500


class Ledger:
    """One legal entity's chart and periods, loaded once per pass."""

    def __init__(self, legal_entity: LegalEntity):
        self.entity = legal_entity
        self.roles = chart_roles(legal_entity=legal_entity)
        self.reload()

    def reload(self):
        self.periods = list(FinancePeriod.objects.filter(legal_entity=self.entity).order_by("start_date"))
        self.grid = [(p.start_date, p.end_date) for p in self.periods]

    def ensure(self, first: dt.date, last: dt.date):
        if not self.periods or first < self.periods[0].start_date or last >= self.periods[-1].end_date:
            periods_ensure(legal_entity=self.entity, first_date=min(first, self.periods[0].start_date if self.periods else first),
                           last_date=last)
            self.reload()

    def open_period(self, day: dt.date) -> FinancePeriod:
        """The period holding `day` if open, else the first open period after it (late items)."""
        if not self.periods or day < self.periods[0].start_date:
            self.ensure(day, day)
        for period in self.periods:
            if period.end_date > day and not period.is_closed:
                return period
        last = self.periods[-1].end_date
        self.ensure(last, dt.date(last.year + 1, 12, 31))
        return self.open_period(day)

    def account(self, role: str):
        return self.roles[role]


def _signed_lines(amounts: dict, *, entry_label: str) -> list[tuple]:
    """(account, customer, debit, credit) from signed debits per (account, customer); zeros dropped."""
    out = []
    for (account, customer), value in amounts.items():
        if value > 0:
            out.append((account, customer, value, ZERO))
        elif value < 0:
            out.append((account, customer, ZERO, -value))
    return out


def _write(entries: list[tuple[JournalEntry, list[tuple]]]) -> list[JournalEntry]:
    """Bulk insert entries and their lines (one statement each)."""
    for entry, _lines in entries:
        # One line of text each: the FEC is tab-separated.
        entry.label = " ".join(entry.label.split())[:200]
        entry.piece_ref = " ".join(entry.piece_ref.split())[:40]
    created = JournalEntry.objects.bulk_create([e for e, _lines in entries])
    lines = []
    for entry, rows in entries:
        for account, customer, debit, credit in rows:
            lines.append(JournalLine(
                entry=entry, period_id=entry.period_id, legal_entity_id=entry.legal_entity_id, ledger_account=account,
                customer_id=customer, label=entry.label[:200], debit=debit, credit=credit,
            ))
    JournalLine.objects.bulk_create(lines, batch_size=2000)
    return created


def _lock_books(legal_entity: LegalEntity) -> None:
    books_ensure(legal_entity=legal_entity)
    Books.objects.select_for_update().filter(legal_entity=legal_entity).first()


def _rule_overrides() -> dict[tuple[int, int], str]:
    return {
        (e["price_book_id"], e["product_id"]): e["recognition_rule"]
        for e in PriceBookEntry.objects.exclude(recognition_rule="").values("price_book_id", "product_id", "recognition_rule")
    }


def line_rule(*, source: str, product: Product | None, price_book_id: int | None, overrides: dict) -> str:
    """The line's rule: the price book entry's, else the product's, else by charge type."""
    if product is not None:
        rule = overrides.get((price_book_id, product.pk)) or product.recognition_rule
        if rule:
            return rule
        if product.charge_type == Product.ChargeType.USAGE:
            return Rule.USAGE
        if product.charge_type == Product.ChargeType.ONE_TIME:
            return Rule.AT_DATE
    if source == LineSource.USAGE:
        return Rule.USAGE
    if source == LineSource.ONE_TIME:
        return Rule.AT_DATE
    return Rule.DAILY


# ---------------------------------------------------------------------------------------- invoices

def _scheduled_at_activation(order_product_ids) -> set[int]:
    """The order products (of these) whose schedule was written at order activation."""
    return set(
        RevenueLine.objects.filter(order_product_id__in=[i for i in order_product_ids if i], invoice_line__isnull=True,
                                   credit_note_line__isnull=True)
        .values_list("order_product_id", flat=True).distinct()
    )


def _true_up(ledger: Ledger, line: InvoiceLine, sub: Subscription, product, rule: str, invoice: Invoice) -> RevenueLine | None:
    """On the invoice that bills a line scheduled at activation up to its end: what was billed over the
    term minus what was scheduled (per-period rounding, e.g. 12 × 30.42 against 365.00), as one more
    schedule row in the line's last period, so the unbilled-revenue account ends at zero. Credit notes
    reduce billed and scheduled alike, so they do not enter the difference."""
    op = sub.origin
    if sub.end_date is None or line.period_end is None or line.period_end < sub.end_date:
        return None
    billed = InvoiceLine.objects.filter(
        subscription=sub, invoice__status__in=[Invoice.Status.POSTED, Invoice.Status.CANCELLED]
    ).aggregate(s=Sum("net_amount"))["s"] or ZERO
    scheduled = RevenueLine.objects.filter(order_product=op, credit_note_line__isnull=True).aggregate(s=Sum("amount"))["s"] or ZERO
    residue = billed - scheduled
    if not residue:
        return None
    assert invoice.invoice_date is not None and sub.end_date is not None  # posted; scheduled at activation: a term
    last_day = min(line.period_end, sub.end_date) - dt.timedelta(days=1)
    ledger.ensure(last_day, last_day)
    start, end = next((a, b) for a, b in ledger.grid if a <= last_day < b)
    return RevenueLine(
        legal_entity_id=invoice.legal_entity_id, customer_id=invoice.account_id, product=product, invoice_line=line,
        order_product=op, line_key=f"i:{line.pk}", rule=rule, currency=invoice.currency, billed_date=invoice.invoice_date,
        period_start=start, period_end=end, amount=residue,
    )


def _journal_invoices(ledger: Ledger, invoices: list[Invoice], overrides: dict) -> int:
    roles = ledger.roles
    entries, rows = [], []
    covered = _scheduled_at_activation({line.subscription.origin_id for i in invoices for line in i.lines.all() if line.subscription})
    for invoice in invoices:
        assert invoice.invoice_date is not None, "only posted invoices are journaled"
        period = ledger.open_period(invoice.invoice_date)
        amounts: Amounts = defaultdict(Decimal)
        customer = invoice.account_id
        amounts[(roles[AccountRole.RECEIVABLE], customer)] += invoice.total_amount
        amounts[(roles[AccountRole.VAT_COLLECTED], None)] -= invoice.tax_amount
        line_rows = []
        for line in invoice.lines.all():
            sub = line.subscription
            product = sub.product if sub else None
            rule = line_rule(source=line.source, product=product, price_book_id=sub.contract.price_book_id if sub else None,
                             overrides=overrides)
            if sub is not None and sub.origin_id in covered:
                # Scheduled at order activation: the schedule exists, so billing writes no rows of its
                # own (the line is never recognized twice); it settles the unbilled-revenue account.
                amounts[(roles[AccountRole.UNBILLED], None)] -= line.net_amount
                if (extra := _true_up(ledger, line, sub, product, rule, invoice)) is not None:
                    line_rows.append(extra)
                continue
            if line.period_start and line.period_end:
                ledger.ensure(line.period_start, line.period_end)
            spread = recognition_rows(
                rule=rule, net_amount=line.net_amount, currency=invoice.currency, service_start=line.period_start,
                service_end=line.period_end, at_date=invoice.invoice_date, periods=ledger.grid,
            )
            for r in spread:
                # Earned already: rows of periods before the posting period, and lines earned on the
                # invoice date. The rest waits in deferred revenue for recognition.
                at_once = r.period_start < period.start_date or (rule == Rule.AT_DATE and r.period_start <= period.start_date)
                role = AccountRole.REVENUE if at_once else AccountRole.DEFERRED_REVENUE
                amounts[(roles[role], None)] -= r.amount
                line_rows.append(RevenueLine(
                    legal_entity_id=invoice.legal_entity_id, customer_id=customer, product=product, invoice_line=line,
                    line_key=f"i:{line.pk}", rule=rule, currency=invoice.currency, billed_date=invoice.invoice_date,
                    period_start=r.period_start, period_end=r.period_end, amount=r.amount,
                    recognized_period=period if at_once else None,
                ))
        entry = JournalEntry(
            legal_entity_id=invoice.legal_entity_id, period=period, journal=JournalEntry.Journal.SALES,
            kind=JournalEntry.Kind.INVOICE, source_key=f"invoice:{invoice.pk}", entry_date=max(invoice.invoice_date, period.start_date),
            piece_ref=invoice.number or "", piece_date=invoice.invoice_date, label=f"{invoice.number} {invoice.account.name}"[:200],
            currency=invoice.currency, invoice=invoice,
        )
        entries.append((entry, _signed_lines(amounts, entry_label=entry.label)))
        rows.append((entry, line_rows))
    return _write_with_revenue_lines(entries, rows)


def _write_with_revenue_lines(entries, rows) -> int:
    """Write the documents' entries, then their revenue rows; a row earned at once points at its entry."""
    _write(entries)
    for entry, line_rows in rows:
        for row in line_rows:
            if row.recognized_period is not None:
                row.recognized_entry = entry
    RevenueLine.objects.bulk_create([r for _e, lr in rows for r in lr], batch_size=2000)
    return len(entries)


# ------------------------------------------------------------------------------------ credit notes

def _deferred_by_line(line_ids) -> dict[int, dict[tuple, Decimal]]:
    """Still-deferred amount per original invoice line and period (its rows and its credits' rows)."""
    out: dict[int, dict[tuple, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    qs = (
        RevenueLine.objects.filter(invoice_line_id__in=list(line_ids), recognized_period__isnull=True)
        .values("invoice_line_id", "period_start", "period_end").annotate(s=Sum("amount"))
    )
    for r in qs:
        out[r["invoice_line_id"]][(r["period_start"], r["period_end"])] += r["s"]
    return out


def _credited_invoice_lines(lines: list[CreditNoteLine]) -> dict[int, InvoiceLine]:
    """The invoice line each credit line takes back: its own link, or the billed charge an amendment credit names."""
    out: dict[int, InvoiceLine] = {}
    by_charge: dict[int | None, InvoiceLine] = {}
    # A null foreign key reads as None without a query.
    charges = [cl.schedule_entry.credits_id for cl in lines
               if cl.invoice_line_id is None and cl.schedule_entry is not None and cl.schedule_entry.credits_id]
    if charges:
        for il in (
            InvoiceLine.objects.filter(schedule_entry_id__in=charges, invoice__status__in=[Invoice.Status.POSTED, Invoice.Status.CANCELLED])
            .select_related("invoice").order_by("id")
        ):
            by_charge[il.schedule_entry_id] = il  # the latest billing of the charge wins
    for cl in lines:
        if cl.invoice_line is not None:
            out[cl.pk] = cl.invoice_line
        elif cl.schedule_entry is not None and cl.schedule_entry.credits_id in by_charge:
            out[cl.pk] = by_charge[cl.schedule_entry.credits_id]
    return out


def _deferred_by_order_product(op_ids) -> dict[int, dict[tuple, Decimal]]:
    """Not yet recognized per order product scheduled at activation, and period."""
    out: dict[int, dict[tuple, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    qs = (
        RevenueLine.objects.filter(order_product_id__in=list(op_ids), recognized_period__isnull=True)
        .values("order_product_id", "period_start", "period_end").annotate(s=Sum("amount"))
    )
    for r in qs:
        out[r["order_product_id"]][(r["period_start"], r["period_end"])] += r["s"]
    return out


def _journal_credit_notes(ledger: Ledger, notes: list[CreditNote], overrides: dict) -> int:
    roles = ledger.roles
    all_lines = [cl for note in notes for cl in note.lines.all()]
    originals = _credited_invoice_lines(all_lines)
    deferred = _deferred_by_line({il.pk for il in originals.values()})
    covered = _scheduled_at_activation({il.subscription.origin_id for il in originals.values() if il.subscription is not None})
    covered_pool = _deferred_by_order_product(covered)
    entries, rows = [], []
    for note in notes:
        assert note.credit_date is not None, "only posted credit notes are journaled"
        period = ledger.open_period(note.credit_date)
        customer = note.account_id
        amounts: Amounts = defaultdict(Decimal)
        amounts[(roles[AccountRole.RECEIVABLE], customer)] -= note.total_amount
        amounts[(roles[AccountRole.VAT_COLLECTED], None)] += note.tax_amount
        line_rows = []
        for cl in note.lines.all():
            original = originals.get(cl.pk)
            left = cl.net_amount
            product = None
            rule: str = Rule.AT_DATE
            order_product = None
            pool_role = AccountRole.DEFERRED_REVENUE
            if original is not None:
                sub = original.subscription
                product = sub.product if sub else None
                rule = line_rule(source=original.source, product=product, price_book_id=sub.contract.price_book_id if sub else None,
                                 overrides=overrides)
                pool = deferred[original.pk]
                if sub is not None and sub.origin_id in covered:
                    # Scheduled at activation: take back from that schedule, through unbilled revenue.
                    order_product, pool_role, pool = sub.origin, AccountRole.UNBILLED, covered_pool[sub.origin_id]
                # Take back what is still deferred first, from the latest period backwards.
                for key in sorted(pool, reverse=True):
                    if left <= 0:
                        break
                    take = min(left, pool[key])
                    if take <= 0:
                        continue
                    pool[key] -= take
                    left -= take
                    amounts[(roles[pool_role], None)] += take
                    line_rows.append(RevenueLine(
                        legal_entity_id=note.legal_entity_id, customer_id=customer, product=product, invoice_line=original,
                        credit_note_line=cl, order_product=order_product, line_key=f"c:{cl.pk}", rule=rule, currency=note.currency,
                        billed_date=note.credit_date, period_start=key[0], period_end=key[1], amount=-take,
                    ))
            if left:
                # Beyond what was deferred: revenue already recognized is reduced now, in the open period.
                amounts[(roles[AccountRole.REVENUE], None)] += left
                line_rows.append(RevenueLine(
                    legal_entity_id=note.legal_entity_id, customer_id=customer, product=product, invoice_line=original,
                    credit_note_line=cl, order_product=order_product, line_key=f"c:{cl.pk}", kind=RevenueLine.Kind.RECOGNIZED_REDUCTION,
                    rule=rule, currency=note.currency, billed_date=note.credit_date, period_start=period.start_date,
                    period_end=period.end_date, amount=-left, recognized_period=period,
                ))
        entry = JournalEntry(
            legal_entity_id=note.legal_entity_id, period=period, journal=JournalEntry.Journal.SALES,
            kind=JournalEntry.Kind.CREDIT_NOTE, source_key=f"credit_note:{note.pk}", entry_date=max(note.credit_date, period.start_date),
            piece_ref=note.number or "", piece_date=note.credit_date, label=f"{note.number} {note.account.name}"[:200],
            currency=note.currency, credit_note=note,
        )
        entries.append((entry, _signed_lines(amounts, entry_label=entry.label)))
        rows.append((entry, line_rows))
    return _write_with_revenue_lines(entries, rows)


# ------------------------------------------------------------------------ schedules at activation

def _activation_date(sub: Subscription) -> dt.date:
    order = sub.origin.order
    return clock.business_date(order.activated_at) if order.activated_at else sub.start_date


def _schedule_activations(ledger: Ledger, subs: list[Subscription], overrides: dict) -> int:
    """Write the schedule of each subscription whose product is scheduled at order activation: the
    ordered line's total over its term, by its rule. Nothing is journaled: nothing is billed yet;
    recognition moves the rows to revenue through the unbilled-revenue account."""
    rows = []
    for sub in subs:
        op = sub.origin
        rule = line_rule(source=LineSource.SUBSCRIPTION, product=sub.product, price_book_id=sub.contract.price_book_id,
                         overrides=overrides)
        day = _activation_date(sub)
        assert sub.end_date is not None  # only subscriptions with a term are scheduled at activation
        ledger.ensure(min(sub.start_date, day), sub.end_date)
        spread = recognition_rows(
            rule=rule, net_amount=round_money(op.total_amount, sub.currency), currency=sub.currency, service_start=sub.start_date,
            service_end=sub.end_date, at_date=day, periods=ledger.grid,
        )
        rows += [
            RevenueLine(
                legal_entity_id=sub.legal_entity_id, customer_id=sub.account_id, product=sub.product, order_product=op,
                line_key=f"o:{op.pk}", rule=rule, currency=sub.currency, billed_date=day, period_start=r.period_start,
                period_end=r.period_end, amount=r.amount,
            )
            for r in spread
        ]
    RevenueLine.objects.bulk_create(rows, batch_size=2000)
    return len(subs)


def _activation_pending():
    """Subscriptions with no activation schedule yet, and none of whose invoices has a schedule of its
    own (a product switched to activation after its first invoice keeps its per-invoice schedules, so
    nothing is recognized twice)."""
    return ~Exists(
        RevenueLine.objects.filter(order_product=OuterRef("origin"), invoice_line__isnull=True, credit_note_line__isnull=True)
    ) & ~Exists(RevenueLine.objects.filter(invoice_line__subscription=OuterRef("pk")))


# ---------------------------------------------------------------------------------- cash movements

def _cash_entries(ledger: Ledger, items, *, kind: str) -> int:
    roles = ledger.roles
    entries = []
    for item in items:
        day = item.received_date if kind == JournalEntry.Kind.PAYMENT else item.refund_date
        period = ledger.open_period(day)
        amount = round_money(item.amount, item.currency)
        sign = 1 if kind == JournalEntry.Kind.PAYMENT else -1
        lines = _signed_lines({
            (roles[AccountRole.BANK], None): sign * amount,
            (roles[AccountRole.RECEIVABLE], item.account_id): -sign * amount,
        }, entry_label="")
        label = f"{item.reference if kind == JournalEntry.Kind.PAYMENT else item.reason} {item.account.name}".strip()[:200]
        entries.append((JournalEntry(
            legal_entity=ledger.entity, period=period, journal=JournalEntry.Journal.BANK, kind=kind,
            source_key=f"{kind}:{item.pk}", entry_date=max(day, period.start_date), piece_ref=f"{kind[:3].upper()}-{item.pk}",
            piece_date=day, label=label or str(item), currency=item.currency,
            payment=item if kind == JournalEntry.Kind.PAYMENT else None, refund=item if kind == JournalEntry.Kind.REFUND else None,
        ), lines))
    _write(entries)
    return len(entries)


def _entity_of_account_subquery():
    """A payment's legal entity: the entity of the account's latest posted invoice."""
    return Subquery(
        Invoice.objects.filter(account=OuterRef("account"), status__in=[Invoice.Status.POSTED, Invoice.Status.CANCELLED])
        .order_by("-invoice_date", "-id").values("legal_entity")[:1]
    )


# -------------------------------------------------------------------------------------- the pass

def _pending(model, kind: str, field: str):
    return ~Exists(JournalEntry.objects.filter(kind=kind, **{field: OuterRef("pk")}))


def _still_pending(model, kind: str, field: str, items: list) -> list:
    """The items no other processor journaled meanwhile (read after taking the entity's lock)."""
    ids = set(model.objects.filter(pk__in=[i.pk for i in items]).filter(_pending(model, kind, field)).values_list("pk", flat=True))
    return [i for i in items if i.pk in ids]


def _run_chunks(ledger_for, fetch, journal, *, model=None, kind: str = "", field: str = "", still_pending=None) -> int:
    """Journal `fetch()` chunk by chunk, each in its own transaction.

    Two processors may fetch the same chunk; the second waits for the entity's lock, then keeps only
    what the first did not journal (under READ COMMITTED it sees the first one's commit), so neither
    loses a race. The UNIQUE constraints stay the backstop: a chunk that still collides rolls back
    whole and is fetched again."""
    done = 0
    lost = 0
    while True:
        chunk = fetch()
        if not chunk:
            break
        retry = False
        by_entity = defaultdict(list)
        for item in chunk:
            by_entity[item._entity_id].append(item)
        for entity_id, items in by_entity.items():
            ledger = ledger_for(entity_id)
            try:
                with transaction.atomic():
                    _lock_books(ledger.entity)
                    items = still_pending(items) if still_pending else _still_pending(model, kind, field, items)
                    if items:
                        done += journal(ledger, items)
            except IntegrityError:
                # A chunk failing again and again is a bug, not a race: say so.
                lost += 1
                if lost > 3:
                    raise
                log.info("accounting: chunk lost a race, retrying", exc_info=True)
                ledger.reload()
                retry = True
        if retry:
            continue
        if len(chunk) < CHUNK:
            break
    return done


def books_process(*, legal_entity: LegalEntity | None = None, today: dt.date | None = None) -> dict:
    """Journal every posted document not yet journaled and write its revenue schedule; exactly once."""
    today = today or clock.today()
    ledgers: dict[int, Ledger] = {}
    entities = {e.pk: e for e in LegalEntity.objects.all()}
    default_entity = legal_entity.pk if legal_entity else min(entities) if entities else None
    if default_entity is None:
        return {"schedules": 0, "invoices": 0, "credit_notes": 0, "payments": 0, "refunds": 0}

    def ledger_for(entity_id):
        if entity_id not in ledgers:
            ledgers[entity_id] = Ledger(entities[entity_id])
            ledgers[entity_id].ensure(dt.date(today.year, 1, 1), today)
        return ledgers[entity_id]

    scope = Q(legal_entity=legal_entity) if legal_entity else Q()
    overrides = _rule_overrides()

    def invoices():
        qs = (
            Invoice.objects.filter(scope, status__in=[Invoice.Status.POSTED, Invoice.Status.CANCELLED])
            .filter(_pending(Invoice, JournalEntry.Kind.INVOICE, "invoice"))
            .select_related("account").prefetch_related("lines__subscription__product", "lines__subscription__contract")
            .order_by("invoice_date", "id")[:CHUNK]
        )
        out = list(qs)
        for i in out:
            i._entity_id = i.legal_entity_id
        return out

    def notes():
        qs = (
            CreditNote.objects.filter(scope, status=CreditNote.Status.POSTED)
            .filter(_pending(CreditNote, JournalEntry.Kind.CREDIT_NOTE, "credit_note"))
            .select_related("account")
            .prefetch_related("lines__invoice_line__subscription__product", "lines__invoice_line__subscription__contract",
                              "lines__schedule_entry")
            .order_by("credit_date", "id")[:CHUNK]
        )
        out = list(qs)
        for n in out:
            n._entity_id = n.legal_entity_id
        return out

    def cash(model, kind, date_field):
        def fetch():
            qs = model.objects.filter(_pending(model, kind, kind)).annotate(_entity=_entity_of_account_subquery())
            if model is Refund:
                qs = qs.annotate(_note_entity=Subquery(CreditNote.objects.filter(pk=OuterRef("credit_note")).values("legal_entity")[:1]))
            out = []
            for item in qs.select_related("account").order_by(date_field, "id")[:CHUNK]:
                item._entity_id = getattr(item, "_note_entity", None) or item._entity or default_entity
                if legal_entity is None or item._entity_id == legal_entity.pk:
                    out.append(item)
            return out
        return fetch

    activation_products = set(
        RecognitionTiming.objects.filter(schedule_on=RecognitionTiming.ScheduleOn.ORDER_ACTIVATION).values_list("product_id", flat=True)
    )

    def activated():
        if not activation_products:
            return []
        qs = (
            Subscription.objects.filter(scope, product_id__in=activation_products, origin__order__status=Order.Status.ACTIVATED,
                                        end_date__isnull=False, charge_type=Product.ChargeType.RECURRING)
            .filter(_activation_pending())
            .select_related("origin__order", "product", "contract").order_by("id")[:CHUNK]
        )
        out = list(qs)
        for sub in out:
            sub._entity_id = sub.legal_entity_id
        return out

    def activations_still_pending(items):
        ids = set(Subscription.objects.filter(pk__in=[s.pk for s in items]).filter(_activation_pending()).values_list("pk", flat=True))
        return [s for s in items if s.pk in ids]

    result = {
        "schedules": _run_chunks(ledger_for, activated, lambda ledger, items: _schedule_activations(ledger, items, overrides),
                                 still_pending=activations_still_pending),
        "invoices": _run_chunks(ledger_for, invoices, lambda ledger, items: _journal_invoices(ledger, items, overrides),
                                model=Invoice, kind=JournalEntry.Kind.INVOICE, field="invoice"),
        "credit_notes": _run_chunks(ledger_for, notes, lambda ledger, items: _journal_credit_notes(ledger, items, overrides),
                                    model=CreditNote, kind=JournalEntry.Kind.CREDIT_NOTE, field="credit_note"),
        "payments": _run_chunks(ledger_for, cash(Payment, JournalEntry.Kind.PAYMENT, "received_date"),
                                lambda ledger, items: _cash_entries(ledger, items, kind=JournalEntry.Kind.PAYMENT),
                                model=Payment, kind=JournalEntry.Kind.PAYMENT, field="payment"),
        "refunds": _run_chunks(ledger_for, cash(Refund, JournalEntry.Kind.REFUND, "refund_date"),
                               lambda ledger, items: _cash_entries(ledger, items, kind=JournalEntry.Kind.REFUND),
                               model=Refund, kind=JournalEntry.Kind.REFUND, field="refund"),
    }
    return result


# ------------------------------------------------------------------------------------ recognition

def revenue_recognize(*, legal_entity: LegalEntity, up_to: dt.date) -> int:
    """Recognize every deferred row of the periods starting before `up_to`: Dr deferred / Cr revenue,
    one entry per currency in the open period holding `up_to − 1` (or the next open one). Returns rows."""
    ledger = Ledger(legal_entity)
    ledger.ensure(up_to - dt.timedelta(days=1), up_to)
    done = 0
    with transaction.atomic():
        _lock_books(legal_entity)
        period = ledger.open_period(up_to - dt.timedelta(days=1))
        pending = RevenueLine.objects.filter(legal_entity=legal_entity, recognized_period__isnull=True, period_start__lt=up_to)
        # Rows scheduled at order activation are recognized out of unbilled revenue, the others out of
        # deferred revenue.
        totals = {
            r["currency"]: (r["s"], r["a"] or ZERO)
            for r in pending.values("currency").annotate(s=Sum("amount"), a=Sum("amount", filter=Q(order_product__isnull=False)))
        }
        if not totals:
            return 0
        seq = JournalEntry.objects.filter(kind=JournalEntry.Kind.RECOGNITION, period=period).count()
        entries = []
        for index, (currency, (total, unbilled)) in enumerate(sorted(totals.items())):
            lines = _signed_lines({
                (ledger.account(AccountRole.DEFERRED_REVENUE), None): total - unbilled,
                (ledger.account(AccountRole.UNBILLED), None): unbilled,
                (ledger.account(AccountRole.REVENUE), None): -total,
            }, entry_label="")
            entries.append((JournalEntry(
                legal_entity=legal_entity, period=period, journal=JournalEntry.Journal.MISC, kind=JournalEntry.Kind.RECOGNITION,
                source_key=f"recognition:{period.pk}:{seq + index + 1}",
                entry_date=min(max(up_to - dt.timedelta(days=1), period.start_date), period.end_date - dt.timedelta(days=1)),
                piece_ref=f"REC-{period.name}", piece_date=up_to - dt.timedelta(days=1),
                label=f"Revenue recognized to {up_to - dt.timedelta(days=1):%Y-%m-%d}", currency=currency,
            ), lines))
        created = _write(entries)
        for entry in created:
            done += pending.filter(currency=entry.currency).update(recognized_entry=entry, recognized_period=period)
    return done



def journal_entry_reverse(*, entry: JournalEntry, actor, today: dt.date | None = None, reason: str = "") -> JournalEntry:
    """Post the mirror of `entry` (debits and credits swapped) in the open period: entries are never
    edited, they are reversed. Once per entry (`reverses` is UNIQUE)."""
    from django.utils.translation import gettext as _

    from billing_site.audit import audit_record
    from billing_site.errors import InvalidTransition

    today = today or clock.today()
    if entry.kind == JournalEntry.Kind.REVERSAL:
        raise InvalidTransition(_("A reversal is not reversed; post the entry again instead."))
    if JournalEntry.objects.filter(reverses=entry).exists():
        raise InvalidTransition(_("This entry is already reversed."))
    ledger = Ledger(entry.legal_entity)
    with transaction.atomic():
        _lock_books(entry.legal_entity)
        period = ledger.open_period(today)
        mirror = JournalEntry(
            legal_entity_id=entry.legal_entity_id, period=period, journal=entry.journal, kind=JournalEntry.Kind.REVERSAL,
            source_key=f"reversal:{entry.pk}", entry_date=max(today, period.start_date), piece_ref=entry.piece_ref,
            piece_date=entry.piece_date, label=(reason or _("Reversal of %(label)s") % {"label": entry.label})[:200],
            currency=entry.currency, reverses=entry,
        )
        lines = [(line.ledger_account, line.customer_id, line.credit, line.debit) for line in entry.lines.select_related("ledger_account")]
        try:
            with transaction.atomic():
                (created,) = _write([(mirror, lines)])
        except IntegrityError:
            raise InvalidTransition(_("This entry is already reversed.")) from None
        audit_record(obj=entry, action="reversed", actor=actor, message=reason, data={"reversal": created.pk})
    return created
