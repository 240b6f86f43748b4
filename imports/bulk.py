"""The bulk path of large account and contract files: the same rules, checked on sets, written at once.

Row by row, a 12-line contract costs about 150 queries and 300 objects (order, its products,
activation, the schedule). Here the file is checked in a few queries: the external ids, accounts,
products, price books and their entries are loaded into dicts, then every record goes through the
pure functions the services themselves call (`account_build`, `order_build`,
`order_product_values`, `price_from_entry`, `contract_build`, `subscription_build`,
`billing_start`, `schedule_plan`), so a row refused here is refused there with the same column and
the same sentence. The commit writes in one transaction per file, with COPY on PostgreSQL (ids
reserved from each table's sequence, numbers derived from them by `billing_site.numbering`: `ACC-00042`,
`ORD-…`, `CTR-…`) and `bulk_create` elsewhere, with the services' audit rows and events.

Only creations take this path: a record whose external id is known with other values (an account
update, a contract already imported) goes through the kind's row-by-row `apply` in the same
transaction. `tests/test_bulk_equivalence` imports one file both ways and compares the rows.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from billing_site.audit import AuditLog
from billing_site.errors import DomainError
from billing_site.events import events_record_many, fields_of
from billing_site.numbering import number_of
from catalog.models import PriceBook, PriceBookEntry, PriceTier, Product
from catalog.pricing import PricingError
from contracts.models import Contract, Order, OrderProduct, ScheduleEntry, Subscription
from contracts.services.orders import (
    billing_start,
    contract_build,
    order_build,
    order_product_values,
    price_from_entry,
    subscription_build,
)
from contracts.services.schedule import row_of, schedule_plan
from customers.models import Account
from imports.kinds import (
    ACTIVATION_COLUMNS,
    CREATE,
    ERROR,
    LINE_COLUMNS,
    UNCHANGED,
    Context,
    RowError,
    _columns,
    account_data,
    contract_book,
    contract_lines_agree,
    contract_order_data,
    contract_terms,
    error_of,
    fingerprint,
    line_mrr,
    mrr_cents,
)
from imports.models import ExternalKey, Kind

WRITE_BATCH = 2000  # records per write (one progress step); the file is still one transaction
LOOKUP_CHUNK = 20_000  # values per `IN (...)` lookup
# After a file's commit, PostgreSQL's planner statistics are refreshed (ANALYZE) for every table the
# file added at least this many rows to: otherwise the first invoice run after a large migration
# plans against the empty tables' statistics (5,000 contracts × 12 lines billed in 14.9 s, 4.7 s after).
ANALYZE_MIN_ROWS = 10_000
_written = threading.local()


def _count_written(table: str, rows: int) -> None:
    counts = getattr(_written, "counts", None)
    if counts is None:
        counts = _written.counts = {}
    counts[table] = counts.get(table, 0) + rows


def written_forget() -> None:
    """Start counting the rows a file writes (called before each file's transaction)."""
    _written.counts = {}


def written_analyze() -> list[str]:
    """ANALYZE the tables the committed file wrote many rows to (PostgreSQL); the tables, in order."""
    counts, _written.counts = getattr(_written, "counts", None) or {}, {}
    tables = sorted(t for t, n in counts.items() if n >= ANALYZE_MIN_ROWS)
    if tables and _postgres():
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return tables


@dataclass
class Result:
    """What the bulk path says about one record (all its rows)."""

    action: str = ""
    column: str = ""
    message: str = ""
    totals: dict = field(default_factory=dict)
    plan: object = None  # what to write (creations)
    slow: bool = False  # handled by the kind's row-by-row apply


def _chunks(values, size=LOOKUP_CHUNK):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _keys(kind: str, external_ids) -> dict[str, ExternalKey]:
    out = {}
    for part in _chunks(set(external_ids)):
        for key in ExternalKey.objects.filter(kind=kind, external_id__in=part):
            out[key.external_id] = key
    return out


def _failure(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, RowError):
        return exc.column, exc.message
    return error_of(exc)


# --- accounts --------------------------------------------------------------------------------


def plan_accounts(ctx: Context, records: list[tuple[str, list[dict]]]) -> list[Result]:
    """Check every account row: unchanged, a creation (validated, not saved), or an update (row by row)."""
    keys = _keys(Kind.ACCOUNTS, (rows[0]["external_id"] for _k, rows in records))
    alive: set[int] = set()
    for part in _chunks({k.object_id for k in keys.values()}):
        alive.update(Account.objects.filter(pk__in=part).values_list("pk", flat=True))
    results = []
    for _key, rows in records:
        external_id, data = account_data(rows[0])
        fp = fingerprint(data)
        key = keys.get(external_id)
        if key is not None and key.object_id in alive:
            results.append(Result(UNCHANGED) if key.fingerprint == fp else Result(slow=True))
            continue
        if key is not None:  # the account it made is gone: the row path re-creates it and re-points the key
            results.append(Result(slow=True))
            continue
        from customers.services import account_build

        try:
            account = account_build(actor=ctx.actor, data=data, validate_constraints=False)
        except (DomainError, RowError) as exc:
            column, message = _failure(exc)
            results.append(Result(ERROR, column, message))
            continue
        results.append(Result(CREATE, totals={"accounts": 1}, plan=(external_id, fp, account)))
    return results


def write_accounts(ctx: Context, plans: list) -> None:
    now = timezone.now()
    ids = _reserve(Account, len(plans))
    accounts = []
    for (_external_id, _fp, account), pk in zip(plans, ids, strict=True):
        account.pk = pk
        account.number = number_of(Account, pk)
        account.created_at = account.updated_at = now
        accounts.append(account)
    _insert(Account, accounts)
    _insert_audit([_audit(ctx, a, "created", to_state=a.status, at=now) for a in accounts])
    _insert(ExternalKey, [
        ExternalKey(kind=Kind.ACCOUNTS, external_id=external_id, object_id=account.pk, fingerprint=fp,
                    batch_id=ctx.batch_id, created_at=now)
        for external_id, fp, account in plans
    ], with_id=False)


# --- contracts -------------------------------------------------------------------------------


@dataclass
class Lookups:
    """Everything the contract rows refer to, loaded in a few queries."""

    keys: dict
    accounts: dict
    products: dict
    entries: dict
    other_currency: dict = field(default_factory=dict)


def _load_contract_lookups(ctx: Context, records) -> Lookups:
    heads = [rows[0] for _k, rows in records]
    keys = _keys(Kind.CONTRACTS, (h["contract_id"] for h in heads))
    # Accounts: by external id, else by Recur number (as `kinds._account`).
    refs = {h["account"] for h in heads}
    account_keys = _keys(Kind.ACCOUNTS, refs)
    by_pk = {}
    for part in _chunks({k.object_id for k in account_keys.values()}):
        by_pk.update({a.pk: a for a in Account.objects.filter(pk__in=part)})
    accounts = {ref: by_pk.get(key.object_id) for ref, key in account_keys.items()}
    by_number = {}
    for part in _chunks(refs - set(account_keys)):
        by_number.update({a.number: a for a in Account.objects.filter(number__in=part)})
    accounts.update({ref: by_number.get(ref) for ref in refs - set(account_keys)})
    # Products: by external id, else by SKU (as `kinds._product`).
    product_refs = {row["product"] for _k, rows in records for row in rows}
    product_keys = _keys(Kind.PRODUCTS, product_refs)
    products_qs = Product.objects.select_related("billing_rule__legal_entity", "tax_rule")
    products_by_pk = {p.pk: p for p in products_qs.filter(pk__in=[k.object_id for k in product_keys.values()])}
    products = {ref: products_by_pk.get(key.object_id) for ref, key in product_keys.items()}
    by_sku = {p.sku: p for p in products_qs.filter(sku__in=product_refs - set(product_keys))}
    products.update({ref: by_sku.get(ref) for ref in product_refs - set(product_keys)})
    # Active entries of those products, tiers in order (as `catalog.selectors.entry_for`).
    entries: dict[tuple[int, int], PriceBookEntry] = {}
    tiers = PriceTier.objects.order_by("lower")
    from django.db.models import Prefetch

    for entry in (PriceBookEntry.objects.filter(product__in=[p for p in products.values() if p], active=True)
                  .select_related("product", "price_book").prefetch_related(Prefetch("tiers", queryset=tiers))):
        entries.setdefault((entry.price_book_id, entry.product_id), entry)
    for name in {h.get("price_book") for h in heads} - {None, ""}:
        ctx.memo((PriceBook.__name__, name), lambda name=name: PriceBook.objects.filter(name=name)
                 .select_related("legal_entity").first())
    return Lookups(keys=keys, accounts=accounts, products=products, entries=entries)


def _other_currency(lookups: Lookups, product: Product, currency: str) -> str | None:
    """The currency of the product's active price in a book of another currency (the error path only)."""
    key = (product.pk, currency)
    if key not in lookups.other_currency:
        other = (PriceBookEntry.objects.filter(product=product, active=True).exclude(price_book__currency=currency)
                 .select_related("price_book").first())
        lookups.other_currency[key] = other.price_book.currency if other is not None else None
    return lookups.other_currency[key]


@dataclass
class Line:
    """One contract line's outcome under the services' rules, the same for every line with the same inputs.

    A file of thousands of contracts repeats a few shapes (product, quantity, price, dates, billing
    terms); each shape is checked, priced and planned once. The first problem of each phase is kept
    as (column, message) so the phases keep the order of the row-by-row path."""

    add_error: tuple[str, str] | None = None
    order_product: OrderProduct | None = None
    mrr: Fraction = Fraction(0)
    activation_error: tuple[str, str] | None = None
    subscription: Subscription | None = None
    start: dt.date | None = None  # the day the schedule starts (None: nothing scheduled)
    rows: dict = field(default_factory=dict)  # the planned schedule and its COPY text, built at the first write


@dataclass
class ContractPlan:
    external_id: str
    fingerprint: str
    order: Order
    lines: list  # [Line]


def plan_contracts(ctx: Context, records: list[tuple[str, list[dict]]]) -> list[Result]:
    """Check every contract with the contracts stage's own rules: unchanged, a creation, or an error."""
    lookups = _load_contract_lookups(ctx, records)
    shapes = ctx.cache.setdefault("bulk_line_shapes", {})
    results = []
    for _key, rows in records:
        try:
            results.append(_plan_contract(ctx, lookups, shapes, rows))
        except (RowError, DomainError, PricingError) as exc:
            column, message = _failure(exc)
            results.append(Result(ERROR, column, message))
    return results


def _plan_contract(ctx: Context, lookups: Lookups, shapes: dict, rows: list[dict]) -> Result:
    # The order of the checks is `kinds.apply_contract`'s, so the first problem found is the same.
    contract_lines_agree(rows)
    head = rows[0]
    external_id = head["contract_id"]
    fp = fingerprint(rows)
    key = lookups.keys.get(external_id)
    if key is not None:
        if key.fingerprint == fp:
            return Result(UNCHANGED)
        return Result(slow=True)  # the row path says why (an amendment changes an imported contract)
    account = lookups.accounts.get(head["account"])
    if account is None:
        raise RowError("account", _("Unknown account “%(ref)s”.") % {"ref": head["account"]})
    book = contract_book(ctx, head, account)
    term, evergreen, billed = contract_terms(head, today=ctx.today)
    order = order_build(actor=ctx.actor, data=contract_order_data(head=head, account=account, book=book, term=term,
                                                                  evergreen=evergreen))
    contract = None
    lines = []
    mrr = Fraction(0)
    for row in rows:
        product = lookups.products.get(row["product"])
        if product is None:
            raise RowError("product", _("Unknown product “%(ref)s”.") % {"ref": row["product"]})
        # Every input of the line's checks, price, subscription and schedule (the account only by its
        # billing day and currency).
        shape = (book.pk, order.currency, order.start_date, order.term_months, order.evergreen, account.billing_day,
                 billed, product.pk, row["quantity"], row.get("unit_price"), row.get("line_start_date"),
                 row.get("line_end_date"))
        line = shapes.get(shape)
        if line is None:
            if contract is None:
                contract = contract_build(order=order)
            line = shapes[shape] = _plan_line(lookups, order, contract, book, product, row, billed)
        if line.add_error is not None:
            raise RowError(*line.add_error)
        lines.append(line)
        mrr += line.mrr
    for line in lines:  # activation: after every line was added, as `order_activate`
        if line.activation_error is not None:
            raise RowError(*line.activation_error)
    return Result(CREATE, totals={"contracts": 1, "mrr": mrr_cents(mrr)},
                  plan=ContractPlan(external_id, fp, order, lines))


def _plan_line(lookups: Lookups, order: Order, contract: Contract, book, product: Product, row: dict, billed) -> Line:
    entry = lookups.entries.get((book.pk, product.pk))

    def price_of(quantity):
        return price_from_entry(
            product=product, price_book=book, entry=entry, currency=order.currency, quantity=quantity,
            other_currency=_other_currency(lookups, product, order.currency) if entry is None else None,
        )

    line = Line()
    try:
        with _columns(LINE_COLUMNS):
            op = OrderProduct(**order_product_values(
                order=order, product=product, quantity=row["quantity"], start_date=row.get("line_start_date"),
                end_date=row.get("line_end_date"), net_unit_price=row.get("unit_price"), price_of=price_of,
            ))
    except (RowError, DomainError, PricingError) as exc:
        line.add_error = _failure(exc)
        return line
    line.order_product, line.mrr = op, line_mrr(product=product, order_product=op)
    try:
        with _columns(ACTIVATION_COLUMNS):
            subscription = subscription_build(contract=contract, order_product=op, start=op.start_date,
                                              end=op.end_date or contract.end_date, anchor=contract.start_date)
            line.start = billing_start(subscription=subscription, order_product=op, billed_through=billed)
    except (RowError, DomainError, PricingError) as exc:
        line.activation_error = _failure(exc)
        return line
    line.subscription = subscription
    return line


def write_contracts(ctx: Context, plans: list[ContractPlan], schedules: dict) -> None:
    """Orders (activated), their products, contracts, subscriptions and schedules, audit rows and events."""
    now = timezone.now()
    user: Any = ctx.actor if getattr(ctx.actor, "is_authenticated", False) else None
    order_ids = _reserve(Order, len(plans))
    contract_ids = _reserve(Contract, len(plans))
    n_lines = sum(len(p.lines) for p in plans)
    op_ids = iter(_reserve(OrderProduct, n_lines))
    sub_ids = iter(_reserve(Subscription, n_lines))
    orders, contracts, keys = [], [], []
    events: list[tuple[str, int | None, dict]] = []
    op_rows, sub_rows, audits, schedule = [], [], [], []
    for plan, order_id, contract_id in zip(plans, order_ids, contract_ids, strict=True):
        order = plan.order
        order.pk, order.number, order.created_at = order_id, number_of(Order, order_id), now
        contract = contract_build(order=order)
        contract.pk, contract.number, contract.created_at = contract_id, number_of(Contract, contract_id), now
        # The audit trail of `order_create`, `order_product_add` and `order_activate`, in that order.
        audits.append(_audit(ctx, order, "created", to_state=Order.Status.DRAFT, at=now))
        for line in plan.lines:
            op_id, sub_id = next(op_ids), next(sub_ids)
            op_rows.append((line, op_id, order_id))
            sub_rows.append((line, sub_id, contract_id, order.account_id, op_id))
            audits.append(_audit(ctx, order, "product_added", message=str(line.order_product), at=now))
            if line.start is not None:
                schedule.append((line, sub_id, contract_id, order.account_id, order_id))
        order.status, order.contract = Order.Status.ACTIVATED, contract
        order.activated_at, order.activated_by = now, user
        audits.append(_audit(ctx, order, "activated", from_state=Order.Status.DRAFT, to_state=order.status,
                             message=contract.number, at=now))
        audits.append(_audit(ctx, contract, "created", to_state=contract.status, message=order.number, at=now))
        events.append(("order.activated", order.account_id, {
            **fields_of(order, "id", "number", "type", "status"), "contract_id": contract.pk,
            "contract_number": contract.number}))
        keys.append(ExternalKey(kind=Kind.CONTRACTS, external_id=plan.external_id, object_id=contract.pk,
                                fingerprint=plan.fingerprint, batch_id=ctx.batch_id, created_at=now))
        orders.append(order)
        contracts.append(contract)
    _insert(Order, orders)
    _insert(Contract, contracts)
    _insert_lines(OrderProduct, op_rows, {"id": 1, "order_id": 2}, lambda line: line.order_product)
    _insert_lines(Subscription, sub_rows, {"id": 1, "contract_id": 2, "account_id": 3, "origin_id": 4},
                  lambda line: _scheduled(ctx, line).subscription)
    _insert_schedule(ctx, schedule, now=now)
    _insert_audit(audits)
    events_record_many(events, now=now)
    _insert(ExternalKey, keys, with_id=False)


def _scheduled(ctx: Context, line: Line) -> Line:
    """The line's schedule by `schedule_plan` (once per shape, as a migrated contract's); sets the line's
    `scheduled_until` where its schedule stops early."""
    if "schedule" not in line.rows:
        entries = []
        if line.start is not None and line.subscription is not None and line.order_product is not None:
            entries = schedule_plan(subscription=line.subscription, quantity=line.order_product.quantity,
                                    start=line.start, today=ctx.today, ahead=True)
        line.rows["schedule"] = entries
    return line


# --- writing ---------------------------------------------------------------------------------


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _reserve(model, count: int) -> list[int]:
    """Primary keys for `count` new rows, taken from the table's sequence (PostgreSQL) or after the
    highest id (SQLite, where the transaction holds the database's write lock)."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if _postgres():
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
            return [r[0] for r in cursor.fetchall()]
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')  # noqa: S608 - a model's own table name
        top = cursor.fetchone()[0]
    return list(range(top + 1, top + 1 + count))


def _insert(model, objs: list, *, with_id: bool = True) -> None:
    """Insert model instances as they are (no save(), no signals): COPY on PostgreSQL, else bulk_create."""
    if not objs:
        return
    if not _postgres():
        model.objects.bulk_create(objs, batch_size=500)
        return
    fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for obj in objs:
            copy.write_row([f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields])
    _count_written(model._meta.db_table, len(objs))


SCHEDULE_COLUMNS = (
    "subscription_id", "contract_id", "account_id", "source_order_id", "kind", "status", "period_start",
    "period_end", "full_start", "full_end", "bill_on", "quantity", "unit_price", "price_term_months",
    "period_months", "factor_numerator", "factor_denominator", "amount", "currency", "credits_id",
    "cancelled_by_id", "is_delta", "note", "created_at", "billed_at",
)


def _copy_text(value) -> str:
    """A value as a COPY text cell: \\N for NULL, t/f, ISO dates, JSON as text, specials escaped."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        value = json.dumps(value, cls=DjangoJSONEncoder)
    elif hasattr(value, "isoformat"):
        value = value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy(table: str, columns, chunks) -> None:
    """COPY text rows (already escaped, one per line) into a table."""
    rows = 0
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {connection.ops.quote_name(table)} ({', '.join(columns)}) FROM STDIN") as copy:
        for chunk in chunks:
            copy.write(chunk)
            rows += chunk.count("\n")
    _count_written(table, rows)


def _batched(lines, size=2000):
    buffer = []
    for line in lines:
        buffer.append(line)
        if len(buffer) >= size:
            yield "".join(buffer)
            buffer.clear()
    if buffer:
        yield "".join(buffer)


def _clone(obj):
    """A new unsaved instance with the same field values (the template of a line shape)."""
    clone = obj.__class__.__new__(obj.__class__)
    clone.__dict__ = {k: v for k, v in obj.__dict__.items() if k != "_state"}
    clone._state = ModelState()
    return clone


def _insert_lines(model, rows: list[tuple], slots: dict[str, int], template_of) -> None:
    """Rows of `model` that differ from their line's template only in ids: [(line, id, fk…)], `slots`
    naming the position of each id. The template is the instance the services' own builder made."""
    if not rows:
        return
    if not _postgres():
        objs = []
        for line, *ids in rows:
            obj = _clone(template_of(line))
            for name, position in slots.items():
                setattr(obj, name, ids[position - 1])
            objs.append(obj)
        model.objects.bulk_create(objs, batch_size=500)
        return
    fields = list(model._meta.concrete_fields)
    places = {name: ([f.attname for f in fields].index(name), position) for name, position in slots.items()}
    prepared: dict[int, list[str]] = {}

    def lines():
        for line, *ids in rows:
            cells = prepared.get(id(line))
            if cells is None:
                template = template_of(line)
                cells = prepared[id(line)] = [_copy_text(getattr(template, f.attname)) for f in fields]
            cells = list(cells)
            for place, position in places.values():
                cells[place] = str(ids[position - 1])
            yield "\t".join(cells) + "\n"

    _copy(model._meta.db_table, [connection.ops.quote_name(f.column) for f in fields], _batched(lines()))


def _insert_schedule(ctx: Context, schedule: list[tuple], *, now) -> None:
    """The rows `row_of` makes of each planned entry: [(line, subscription id, contract id, account id,
    order id)]. Each line shape's schedule is formatted once and reused with its ids."""
    if not schedule:
        return
    if not _postgres():
        objs: list[ScheduleEntry] = []
        for line, sub_id, contract_id, account_id, order_id in schedule:
            subscription = _clone(_scheduled(ctx, line).subscription)
            subscription.pk, subscription.contract_id, subscription.account_id = sub_id, contract_id, account_id
            objs.extend(row_of(e, subscription=subscription, order=Order(pk=order_id)) for e in line.rows["schedule"])
        ScheduleEntry.objects.bulk_create(objs, batch_size=500)
        return
    stamp = _copy_text(now)

    def lines():
        for line, sub_id, contract_id, account_id, order_id in schedule:
            text = line.rows.get("text")
            if text is None:
                template = _scheduled(ctx, line).subscription
                # Built from `row_of` itself, so the columns hold what the row-by-row path writes.
                rows = [row_of(e, subscription=template, order=Order(pk=order_id)) for e in line.rows["schedule"]]
                text = line.rows["text"] = "".join(
                    "\t".join(_copy_text(getattr(r, c)) for c in SCHEDULE_COLUMNS[4:23]) + f"\t{stamp}\t\\N\n"
                    for r in rows)
            if text:
                head = f"{sub_id}\t{contract_id}\t{account_id}\t{order_id}\t"
                yield head + text[:-1].replace("\n", "\n" + head) + "\n"

    _copy(ScheduleEntry._meta.db_table, SCHEDULE_COLUMNS, _batched(lines(), 200))


AUDIT_COLUMNS = ("at", "actor_id", "actor_label", "object_type", "object_id", "object_repr", "action", "from_state",
                 "to_state", "message", "data")


def _insert_audit(audits: list[tuple]) -> None:
    if not _postgres():
        AuditLog.objects.bulk_create([AuditLog(**dict(zip(AUDIT_COLUMNS, a, strict=True))) for a in audits], batch_size=500)
        return
    _copy(AuditLog._meta.db_table, AUDIT_COLUMNS, _batched("\t".join(_copy_text(v) for v in a) + "\n" for a in audits))


def _audit(ctx: Context, obj, action: str, *, at, from_state: str = "", to_state: str = "", message: str = "") -> tuple:
    """The row `audit_record` writes (in `AUDIT_COLUMNS` order)."""
    user: Any = ctx.actor if getattr(ctx.actor, "is_authenticated", False) else None
    label = user.get_username() if user else "system"
    return (at, user.pk if user else None, label[:150], obj._meta.label_lower, str(obj.pk), str(obj)[:200], action,
            str(from_state or ""), str(to_state or ""), message, {})


def report_progress(on_progress: Callable[[int], None] | None, done: int) -> None:
    """Progress written from inside the file's transaction must commit on its own: on PostgreSQL it is
    written by a short thread on its own connection; SQLite (one writer) reports it after the commit."""
    if on_progress is None:
        return
    if not connection.in_atomic_block:
        on_progress(done)
        return
    if not _postgres():
        return

    def run():
        from django.db import connection as own

        try:
            on_progress(done)
        finally:
            own.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


PLANNERS = {Kind.ACCOUNTS: plan_accounts, Kind.CONTRACTS: plan_contracts}
WRITERS = {Kind.ACCOUNTS: lambda ctx, plans, cache: write_accounts(ctx, plans),
           Kind.CONTRACTS: write_contracts}
