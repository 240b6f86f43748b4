"""Bank statements: import a CSV or CAMT.053 file of received transfers, match its lines to
invoices, and resolve what could not be matched.

Importing the same file twice creates nothing: the file's SHA-256 is UNIQUE. Matching, in order:
1. invoice numbers found in the reference (one open invoice → matched; several → matched only if
   the amount is exactly their open balances together, else ambiguous);
2. the counterparty names an account and exactly one of its open invoices has exactly this
   amount → matched; several → ambiguous;
3. otherwise unmatched (with the account when the counterparty named one), for the review queue.
A matched line becomes a bank-transfer payment allocated to its invoice(s); any excess stays the
account's unapplied credit. Outgoing lines (negative amounts) are ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing_site.audit import audit_record
from billing_site.errors import InvalidTransition, ValidationFailed
from billing_site.money import round_money, sum_money
from customers.models import Account
from invoicing.models import Invoice
from payments.models import Payment, PaymentMethodKind, StatementImport, StatementLine
from payments.parsers import ParsedLine, detect_format, parse_statement
from payments.selectors.balances import invoice_balance
from payments.services.allocation import payment_allocate, payment_record

TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/_.]*[A-Za-z0-9]")


def statement_import(*, file_name: str, content: bytes, today: dt.date, actor=None) -> tuple[StatementImport, bool]:
    """Import a statement file once; returns (import, created). The same bytes again return the first import."""
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
                imported_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            for number, parsed in enumerate(lines, start=1):
                line = _line_create(statement=statement, number=number, parsed=parsed)
                _auto_match(line=line, today=today, actor=actor)
            statement.matched_count = statement.lines.filter(status=StatementLine.Status.MATCHED).count()
            statement.save(update_fields=["matched_count"])
            audit_record(obj=statement, action="imported", actor=actor,
                         message=_("%(lines)s lines, %(matched)s matched") % {"lines": len(lines), "matched": statement.matched_count})
    except IntegrityError:
        # The same file imported at the same moment by someone else: theirs is the import.
        return StatementImport.objects.get(file_hash=digest), False
    return statement, True


def _line_create(*, statement: StatementImport, number: int, parsed: ParsedLine) -> StatementLine:
    return StatementLine.objects.create(
        statement=statement, line_no=number, booking_date=parsed.booking_date, amount=parsed.amount,
        currency=parsed.currency, reference=parsed.reference[:300], counterparty=parsed.counterparty[:200],
    )


def _open(qs):
    return qs.filter(status=Invoice.Status.POSTED, open_amount__gt=0)


def _accounts_named(counterparty: str) -> list[Account]:
    name = " ".join(counterparty.split()).lower()
    if len(name) < 3:
        return []
    found = []
    for account in Account.objects.filter(Q(name__iexact=name) | Q(legal_name__iexact=name) | Q(name__icontains=name)
                                          | Q(legal_name__icontains=name)):
        found.append(account)
    if not found:
        # "VIR SEPA BOULANGERIES MARTIN SAS": the account's name inside the counterparty text.
        for account in Account.objects.only("pk", "name", "legal_name"):
            if any(n and len(n) >= 4 and n.lower() in name for n in (account.name, account.legal_name)):
                found.append(account)
    return found


def _auto_match(*, line: StatementLine, today: dt.date, actor) -> None:
    if line.amount <= 0:
        line.status = StatementLine.Status.IGNORED
        line.note = _("Outgoing transfer: not a receipt.")
        line.save(update_fields=["status", "note"])
        return
    tokens = {t.upper() for t in TOKEN.findall(line.reference or "")}
    by_number = []
    if tokens:
        query = Q()
        for token in tokens:
            query |= Q(number__iexact=token)
        by_number = list(Invoice.objects.filter(query, status=Invoice.Status.POSTED, currency=line.currency))
    if by_number:
        open_rows = list(_open(Invoice.objects.filter(pk__in=[i.pk for i in by_number])).order_by("due_date", "id"))
        if len(by_number) == 1 and open_rows:
            return _match(line=line, invoices=open_rows, today=today, actor=actor, note=_("Invoice number in the reference."))
        total_open = sum_money((round_money(i.open_amount, i.currency) for i in open_rows), line.currency)
        if open_rows and total_open == line.amount and len({i.account_id for i in open_rows}) == 1:
            return _match(line=line, invoices=open_rows, today=today, actor=actor, note=_("Invoice numbers in the reference."))
        line.candidate_invoices.set(by_number)
        line.account_id = by_number[0].account_id if len({i.account_id for i in by_number}) == 1 else None
        line.status = StatementLine.Status.AMBIGUOUS
        line.note = (
            _("The invoice named in the reference is already paid.") if not open_rows
            else _("Several invoices are named and the amount is not their open balance.")
        )
        line.save(update_fields=["account", "status", "note"])
        return
    accounts = _accounts_named(line.counterparty)
    if len(accounts) == 1:
        account = accounts[0]
        same = list(_open(Invoice.objects.filter(account=account, currency=line.currency)).filter(open_amount=line.amount))
        if len(same) == 1:
            return _match(line=line, invoices=same, today=today, actor=actor, note=_("Amount and account."))
        line.account = account
        if same:
            line.candidate_invoices.set(same)
            line.status, line.note = StatementLine.Status.AMBIGUOUS, _("Several open invoices of this account have this amount.")
        else:
            line.candidate_invoices.set(_open(Invoice.objects.filter(account=account, currency=line.currency))[:10])
            line.status, line.note = StatementLine.Status.UNMATCHED, _("No open invoice of this account has this amount.")
        line.save(update_fields=["account", "status", "note"])
        return
    same = list(_open(Invoice.objects.filter(currency=line.currency)).filter(open_amount=line.amount)[:10])
    if same:
        line.candidate_invoices.set(same)
        line.status, line.note = StatementLine.Status.AMBIGUOUS, _("Open invoices have this amount, but the payer is unknown.")
    else:
        line.status, line.note = StatementLine.Status.UNMATCHED, _("No invoice number, account or amount matches.")
    line.save(update_fields=["status", "note"])


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


