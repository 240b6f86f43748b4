"""Bank statements: import a CSV or CAMT.053 file of received transfers, match its lines to
invoices, and resolve what could not be matched.

Importing the same file twice creates nothing: the file's SHA-256 is UNIQUE. Matching, in order:
1. invoice numbers found in the reference (one open invoice → matched; several → matched only if
   the amount is exactly their open balances together, else ambiguous);
2. the counterparty names an account (its name or legal name, word for word, inside the
   counterparty text; else the one account whose name contains the counterparty) and exactly one of
   its open invoices has exactly this amount → matched; several → ambiguous;
3. otherwise unmatched (with the account when the counterparty named one), for the review queue.
A matched line becomes a bank-transfer payment allocated to its invoice(s); any excess stays the
account's unapplied credit. Outgoing lines (negative amounts) are ignored.

Matching reads each batch's candidates with a few indexed queries (`payments.selectors.bank`), never
every invoice per line. Uploads from the page and the API store the lines and leave the matching to
a worker (`payments.tasks.statement_match_task`); the statement page follows its progress.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from billing_site.audit import audit_record
from billing_site.errors import InvalidTransition, ValidationFailed
from billing_site.money import ZERO, round_money, sum_money
from customers.models import Account
from invoicing.models import Invoice
from payments.models import Payment, PaymentMethodKind, StatementImport, StatementLine
from payments.parsers import ParsedLine, detect_format, parse_statement
from payments.selectors import bank as bank_reads
from payments.selectors.balances import invoice_balance
from payments.services.allocation import payment_allocate, payment_record
from payments.services.receipts import Receipt, receipts_record

BATCH = 100  # lines matched per transaction; progress is written after each


def statement_import(
    *, file_name: str, content: bytes, today: dt.date, actor=None, background: bool = False,
) -> tuple[StatementImport, bool]:
    """Import a statement file once; returns (import, created). The same bytes again return the first import.

    The lines are stored (waiting), then matched: here, or with `background` by a worker task enqueued
    when the transaction commits (`statement_match`), the page following its progress."""
    digest = hashlib.sha256(content).hexdigest()
    existing = StatementImport.objects.filter(file_hash=digest).first()
    if existing is not None:
        return existing, False
    fmt = detect_format(content)
    lines = parse_statement(content, fmt, today=today)  # raises ValidationFailed with the line number
    if not lines:
        raise ValidationFailed(fields={"file": _("The file has no transactions.")})
    try:
        with transaction.atomic():
            statement = StatementImport.objects.create(
                file_name=(file_name or "statement")[:200], file_hash=digest, format=fmt, lines_count=len(lines),
                imported_by=actor if getattr(actor, "is_authenticated", False) else None, status=StatementImport.Status.QUEUED,
            )
            StatementLine.objects.bulk_create([_line(statement=statement, number=n, parsed=p) for n, p in enumerate(lines, start=1)],
                                              batch_size=500)
            if background:
                from payments.tasks import statement_match_task

                transaction.on_commit(lambda: statement_match_task.delay(statement.pk))
    except IntegrityError:
        # The same file imported at the same moment by someone else: theirs is the import.
        return StatementImport.objects.get(file_hash=digest), False
    if not background:
        statement = statement_match(statement_id=statement.pk, today=today, actor=actor)
    return statement, True


def _line(*, statement: StatementImport, number: int, parsed: ParsedLine) -> StatementLine:
    return StatementLine(
        statement=statement, line_no=number, booking_date=parsed.booking_date, amount=parsed.amount, status=StatementLine.Status.PENDING,
        currency=parsed.currency, reference=parsed.reference[:300], counterparty=parsed.counterparty[:200],
    )


def statement_match(*, statement_id: int, today: dt.date, actor=None) -> StatementImport:
    """Match a stored statement's waiting lines, BATCH lines per transaction, writing progress after each.

    Safe to run twice and to resume: a batch takes its lines under row locks (SKIP LOCKED, so two
    workers share the work) and only lines still waiting; a batch that failed left its lines waiting."""
    claimed = StatementImport.objects.filter(
        pk=statement_id, status__in=[StatementImport.Status.QUEUED, StatementImport.Status.MATCHING, StatementImport.Status.FAILED],
    ).update(status=StatementImport.Status.MATCHING, error="")
    statement = StatementImport.objects.get(pk=statement_id)
    if not claimed:
        return statement
    actor = actor if actor is not None else statement.imported_by
    try:
        while True:
            with transaction.atomic():
                lines = list(StatementLine.objects.select_for_update(skip_locked=True)
                             .filter(statement_id=statement_id, status=StatementLine.Status.PENDING).order_by("line_no")[:BATCH])
                if not lines:
                    break
                _match_batch(lines=lines, today=today, actor=actor)
                StatementImport.objects.filter(pk=statement_id).update(processed_count=F("processed_count") + len(lines))
    except Exception as exc:
        StatementImport.objects.filter(pk=statement_id).update(status=StatementImport.Status.FAILED, error=str(exc)[:300])
        raise
    with transaction.atomic():
        statement = StatementImport.objects.select_for_update().get(pk=statement_id)
        if statement.status != StatementImport.Status.MATCHING or statement.lines.filter(status=StatementLine.Status.PENDING).exists():
            return statement  # another worker still has lines, and finishes
        statement.matched_count = statement.lines.filter(status=StatementLine.Status.MATCHED).count()
        statement.processed_count = statement.lines_count
        statement.status, statement.finished_at = StatementImport.Status.DONE, timezone.now()
        statement.save(update_fields=["matched_count", "processed_count", "status", "finished_at"])
        audit_record(obj=statement, action="imported", actor=actor,
                     message=_("%(lines)s lines, %(matched)s matched") % {"lines": statement.lines_count, "matched": statement.matched_count})
    return statement


def statement_match_again(*, statement: StatementImport, actor=None) -> StatementImport:
    """Send a statement whose matching stopped back to the workers; its waiting lines are matched, the rest stay."""
    with transaction.atomic():
        again = StatementImport.objects.filter(pk=statement.pk, status=StatementImport.Status.FAILED).update(
            status=StatementImport.Status.QUEUED, error="")
        if not again:
            raise InvalidTransition(_("Only a statement whose matching stopped can be matched again."))
        audit_record(obj=statement, action="match_again", actor=actor, message=statement.file_name)
        from payments.tasks import statement_match_task

        transaction.on_commit(lambda: statement_match_task.delay(statement.pk))
    statement.refresh_from_db()
    return statement


class _Book:
    """What one batch of lines names, read with a few queries, and the open amounts the batch's own
    matches have used so far (so two lines never pay the same balance twice)."""

    def __init__(self, lines: list[StatementLine]):
        receipts = [line for line in lines if line.amount > 0]
        self.tokens = {line.pk: bank_reads.reference_tokens(line.reference) for line in receipts}
        self.by_number = bank_reads.invoices_by_number(t for tokens in self.tokens.values() for t in tokens)
        unnamed = [line for line in receipts if not self.named(line)]
        self.probes = {line.pk: bank_reads.name_probes(line.counterparty) for line in unnamed}
        found = bank_reads.accounts_by_name(p for probes in self.probes.values() for p in probes)
        self.accounts: dict[int, list[int]] = {}
        for line in unnamed:
            ids = set().union(*(found.get(p, set()) for p in self.probes[line.pk]))
            self.accounts[line.pk] = sorted(ids) if ids else bank_reads.accounts_containing(line.counterparty)
        self.same_amount = bank_reads.open_invoices_with_amounts(
            (ids_[0], line.currency, line.amount) for line in unnamed if len(ids_ := self.accounts[line.pk]) == 1)
        self.used: dict[int, Decimal] = {}
        self.matches: list[tuple[StatementLine, list[Invoice], str]] = []

    def named(self, line: StatementLine) -> list[Invoice]:
        """Posted invoices in the line's currency whose number is in its reference."""
        seen, out = set(), []
        for token in sorted(self.tokens.get(line.pk, ())):
            for invoice in self.by_number.get(token, ()):
                if invoice.currency == line.currency and invoice.pk not in seen:
                    seen.add(invoice.pk)
                    out.append(invoice)
        return sorted(out, key=lambda i: (i.due_date, i.pk))

    def open_amount(self, invoice: Invoice) -> Decimal:
        return round_money(invoice.open_amount, invoice.currency) - self.used.get(invoice.pk, ZERO)

    def use(self, invoices: list[Invoice], amount: Decimal) -> None:
        for invoice in invoices:
            take = min(amount, self.open_amount(invoice))
            self.used[invoice.pk] = self.used.get(invoice.pk, ZERO) + take
            amount -= take


def _match_batch(*, lines: list[StatementLine], today: dt.date, actor) -> None:
    book = _Book(lines)
    for line in lines:
        _auto_match(line=line, book=book, today=today, actor=actor)
    # The batch's matched lines become payments in one go (the same rows as `_match` writes one by one).
    payments = receipts_record(receipts=[
        Receipt(account_id=invoices[0].account_id, currency=line.currency, amount=line.amount,
                received_date=min(line.booking_date, today), invoice_ids=tuple(i.pk for i in invoices),
                reference=line.reference[:140], notes=line.counterparty)
        for line, invoices, _note in book.matches], today=today, actor=actor, actor_name="bank import")
    if payments:
        # One UPDATE … FROM (VALUES …) (PostgreSQL, SQLite ≥ 3.33): bulk_update's CASE per field costs more to build than to run.
        rows = [(line.pk, payment.pk, invoices[0].account_id, note)
                for (line, invoices, note), payment in zip(book.matches, payments, strict=True)]
        table = StatementLine._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET payment_id = v.column2, account_id = v.column3, note = v.column4, status = %s "
                f"FROM (VALUES {', '.join(['(%s, %s, %s, %s)'] * len(rows))}) AS v WHERE {table}.id = v.column1",
                [StatementLine.Status.MATCHED, *(value for row in rows for value in row)])


def _settle(line, book: _Book, invoices: list[Invoice], today, actor, note) -> None:
    book.matches.append((line, invoices, note))
    book.use(invoices, line.amount)


def _review(line: StatementLine, *, status: str, note: str, candidates=(), account_id=None) -> None:
    if candidates:
        line.candidate_invoices.set(candidates)
    line.status, line.note, line.account_id = status, note, account_id
    line.save(update_fields=["account", "status", "note"])


def _auto_match(*, line: StatementLine, book: _Book, today: dt.date, actor) -> None:
    if line.amount <= 0:
        return _review(line, status=StatementLine.Status.IGNORED, note=_("Outgoing transfer: not a receipt."))
    by_number = book.named(line)
    if by_number:
        open_rows = [i for i in by_number if book.open_amount(i) > 0]
        if len(by_number) == 1 and open_rows:
            return _settle(line, book, open_rows, today, actor, _("Invoice number in the reference."))
        total_open = sum_money((book.open_amount(i) for i in open_rows), line.currency)
        if open_rows and total_open == line.amount and len({i.account_id for i in open_rows}) == 1:
            return _settle(line, book, open_rows, today, actor, _("Invoice numbers in the reference."))
        return _review(
            line, status=StatementLine.Status.AMBIGUOUS, candidates=by_number,
            account_id=by_number[0].account_id if len({i.account_id for i in by_number}) == 1 else None,
            note=(_("The invoice named in the reference is already paid.") if not open_rows
                  else _("Several invoices are named and the amount is not their open balance.")),
        )
    accounts = book.accounts.get(line.pk, [])
    if len(accounts) == 1:
        [account_id] = accounts
        same = [i for i in book.same_amount.get((account_id, line.currency, line.amount), []) if book.open_amount(i) == line.amount]
        if len(same) == 1:
            return _settle(line, book, same, today, actor, _("Amount and account."))
        if same:
            return _review(line, status=StatementLine.Status.AMBIGUOUS, candidates=same, account_id=account_id,
                           note=_("Several open invoices of this account have this amount."))
        return _review(line, status=StatementLine.Status.UNMATCHED, account_id=account_id,
                       candidates=[i for i in bank_reads.open_invoices_of_account(account_id=account_id, currency=line.currency)
                                   if book.open_amount(i) > 0],
                       note=_("No open invoice of this account has this amount."))
    # The batch's own matches are written at its end: what they paid is not a candidate any more.
    same = [i for i in bank_reads.open_invoices_with_amount(currency=line.currency, amount=line.amount)
            if book.open_amount(i) == line.amount]
    if same:
        return _review(line, status=StatementLine.Status.AMBIGUOUS, candidates=same,
                       note=_("Open invoices have this amount, but the payer is unknown."))
    return _review(line, status=StatementLine.Status.UNMATCHED, note=_("No invoice number, account or amount matches."))


def _match(*, line: StatementLine, invoices: list, today: dt.date, actor, note: str) -> None:
    account = invoices[0].account
    payment = payment_record(
        account=account, amount=line.amount, currency=line.currency, received_date=min(line.booking_date, today),
        method=PaymentMethodKind.BANK_TRANSFER, today=today, actor=actor, reference=line.reference[:140],
        source=Payment.Source.BANK, actor_name="bank import", notes=line.counterparty,
    )
    left = payment.amount
    for invoice in invoices:
        amount = min(left, invoice_balance(invoice))
        if amount > 0:
            payment_allocate(payment=payment, invoice=invoice, amount=amount, today=today, actor=actor, actor_name="bank import")
            left -= amount
    line.payment, line.account = payment, account
    line.status, line.note = StatementLine.Status.MATCHED, note
    line.save(update_fields=["payment", "account", "status", "note"])


def _lock_line(line: StatementLine) -> StatementLine:
    line = StatementLine.objects.select_for_update().get(pk=line.pk)
    if line.status not in StatementLine.REVIEW:
        raise InvalidTransition(_("This line is already resolved."))
    return line


def _resolved(line: StatementLine, actor, action: str) -> None:
    line.resolved_by = actor if getattr(actor, "is_authenticated", False) else None
    line.resolved_at = timezone.now()
    line.save(update_fields=["resolved_by", "resolved_at"])
    statement = line.statement
    statement.matched_count = statement.lines.filter(status=StatementLine.Status.MATCHED).count()
    statement.save(update_fields=["matched_count"])
    audit_record(obj=statement, action=action, actor=actor, message=f"#{line.line_no} {line.reference}")


@transaction.atomic
def statement_line_match(*, line: StatementLine, invoices: list[Invoice], today: dt.date, actor=None) -> StatementLine:
    """Resolve a review line by hand: pay these invoices (in this order); any excess stays unapplied."""
    line = _lock_line(line)
    if not invoices:
        raise ValidationFailed(fields={"invoices": _("Choose at least one invoice.")})
    if len({i.account_id for i in invoices}) != 1:
        raise ValidationFailed(fields={"invoices": _("The invoices must belong to one account.")})
    for invoice in invoices:
        if invoice.status != Invoice.Status.POSTED or invoice.currency != line.currency:
            raise ValidationFailed(fields={"invoices": _("Invoice %(number)s is not a posted %(currency)s invoice.")
                                           % {"number": invoice, "currency": line.currency}})
    _match(line=line, invoices=invoices, today=today, actor=actor, note=_("Matched by hand."))
    _resolved(line, actor, "line_matched")
    return line


@transaction.atomic
def statement_line_assign(*, line: StatementLine, account: Account, today: dt.date, actor=None) -> StatementLine:
    """Resolve a review line as a payment of an account, left unapplied for later allocation."""
    line = _lock_line(line)
    payment = payment_record(
        account=account, amount=line.amount, currency=line.currency, received_date=min(line.booking_date, today),
        method=PaymentMethodKind.BANK_TRANSFER, today=today, actor=actor, reference=line.reference[:140],
        source=Payment.Source.BANK, notes=line.counterparty,
    )
    line.payment, line.account = payment, account
    line.status, line.note = StatementLine.Status.MATCHED, _("Recorded as unapplied credit of the account.")
    line.save(update_fields=["payment", "account", "status", "note"])
    _resolved(line, actor, "line_assigned")
    return line


@transaction.atomic
def statement_line_ignore(*, line: StatementLine, actor=None, reason: str = "") -> StatementLine:
    """Set a review line aside (not a customer receipt)."""
    line = _lock_line(line)
    line.status = StatementLine.Status.IGNORED
    line.note = (reason or _("Ignored by hand."))[:300]
    line.save(update_fields=["status", "note"])
    _resolved(line, actor, "line_ignored")
    return line


