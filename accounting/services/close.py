"""Closing and reopening finance periods.

Close (Finance): journal what is pending, recognize revenue up to the period's end, check that the
period's journal balances and that every posted document dated before its end has its entry, then
freeze it. The database then refuses any entry, line or recognition in it (migration triggers), so
what arrives late lands in the next open period. Periods close in order.

Reopen (Admin only, audited): the latest closed period goes back to open; `period_reopen_preview`
says what that changes before anything is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils.translation import gettext as _

from accounting.models import FinancePeriod, JournalEntry, JournalLine
from accounting.services.journal import books_process, revenue_recognize
from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import Conflict, InvalidTransition
from billing_site.roles import Role, has_role
from invoicing.models import CreditNote, Invoice

HALF_UNIT = Decimal("0.0000005")  # half the smallest amount a journal line holds


@dataclass(frozen=True)
class CloseCheck:
    debit_total: Decimal
    credit_total: Decimal
    unbalanced_entries: int
    unjournaled_invoices: int
    unjournaled_credit_notes: int

    @property
    def ok(self) -> bool:
        return (
            abs(self.debit_total - self.credit_total) < HALF_UNIT and not self.unbalanced_entries
            and not self.unjournaled_invoices and not self.unjournaled_credit_notes
        )


def period_check(*, period: FinancePeriod) -> CloseCheck:
    """The checks a close makes: the journal balances and every posted document has its entry."""
    lines = JournalLine.objects.filter(period=period)
    totals = lines.aggregate(d=Sum("debit"), c=Sum("credit"))
    # Amounts carry 6 decimal places, so a real imbalance is at least 0.000001. The half-unit band
    # keeps SQLite honest: it sums decimals as floats (27.86 + 139.30 there is 167.16000000000003).
    unbalanced = (
        lines.values("entry_id").annotate(diff=Sum("debit") - Sum("credit"))
        .filter(Q(diff__gt=HALF_UNIT) | Q(diff__lt=-HALF_UNIT)).count()
    )
    invoices = Invoice.objects.filter(
        legal_entity=period.legal_entity_id, invoice_date__lt=period.end_date,
        status__in=[Invoice.Status.POSTED, Invoice.Status.CANCELLED],
    ).filter(~Exists(JournalEntry.objects.filter(kind=JournalEntry.Kind.INVOICE, invoice=OuterRef("pk"))))
    notes = CreditNote.objects.filter(
        legal_entity=period.legal_entity_id, credit_date__lt=period.end_date, status=CreditNote.Status.POSTED
    ).filter(~Exists(JournalEntry.objects.filter(kind=JournalEntry.Kind.CREDIT_NOTE, credit_note=OuterRef("pk"))))
    return CloseCheck(
        debit_total=totals["d"] or Decimal(0), credit_total=totals["c"] or Decimal(0), unbalanced_entries=unbalanced,
        unjournaled_invoices=invoices.count(), unjournaled_credit_notes=notes.count(),
    )


def period_close(*, period: FinancePeriod, actor, today: dt.date | None = None) -> FinancePeriod:
    """open → closed, after recognition to its end and the checks; earlier periods must be closed."""
    today = today or clock.today()
    if period.is_closed:
        raise InvalidTransition(_("The period %(name)s is already closed.") % {"name": period.name})
    earlier_open = FinancePeriod.objects.filter(
        legal_entity=period.legal_entity_id, start_date__lt=period.start_date, status=FinancePeriod.Status.OPEN
    ).order_by("start_date").first()
    if earlier_open is not None:
        raise InvalidTransition(
            _("Close %(earlier)s first: periods close in order.") % {"earlier": earlier_open.name}
        )
    books_process(legal_entity=period.legal_entity, today=today)
    revenue_recognize(legal_entity=period.legal_entity, up_to=period.end_date)
    with transaction.atomic():
        # The lock waits for every transaction still writing into the period (the triggers take a
        # share lock on it) and keeps new writers out until the close commits.
        period = FinancePeriod.objects.select_for_update().get(pk=period.pk)
        if period.is_closed:
            raise InvalidTransition(_("The period %(name)s is already closed.") % {"name": period.name})
        check = period_check(period=period)
        if not check.ok:
            raise Conflict(
                _("The period %(name)s cannot close: debits %(debit)s, credits %(credit)s, %(entries)s unbalanced entries, "
                  "%(invoices)s invoices and %(notes)s credit notes without entries.")
                % {"name": period.name, "debit": check.debit_total, "credit": check.credit_total,
                   "entries": check.unbalanced_entries, "invoices": check.unjournaled_invoices,
                   "notes": check.unjournaled_credit_notes}
            )
        period.status = FinancePeriod.Status.CLOSED
        period.closed_at = clock.now()
        period.closed_by = actor if getattr(actor, "is_authenticated", False) else None
        period.save(update_fields=["status", "closed_at", "closed_by"])
        audit_record(obj=period, action="closed", actor=actor, from_state="open", to_state="closed",
                     data={"debit": str(check.debit_total), "credit": str(check.credit_total)})
    return period


def period_reopen_preview(*, period: FinancePeriod) -> dict:
    """What reopening changes: the period becomes writable again and late items land in it."""
    later_closed = FinancePeriod.objects.filter(
        legal_entity=period.legal_entity_id, start_date__gt=period.start_date, status=FinancePeriod.Status.CLOSED
    ).order_by("start_date").values_list("name", flat=True)
    stats = JournalEntry.objects.filter(period=period).aggregate(n=Count("id"))
    return {
        "period": period,
        "entries": stats["n"],
        "later_closed": list(later_closed),
        "blocked": bool(later_closed) or not period.is_closed,
    }


def period_reopen(*, period: FinancePeriod, actor, reason: str) -> FinancePeriod:
    """closed → open (Admin only): the latest closed period only, with a reason, audited."""
    if not has_role(actor, [Role.ADMIN]):
        raise PermissionDenied(_("Only an admin may reopen a finance period."))
    reason = (reason or "").strip()
    if not reason or len(reason) > 300:
        raise InvalidTransition(_("Say why the period is reopened (1 to 300 characters)."))
    with transaction.atomic():
        period = FinancePeriod.objects.select_for_update().get(pk=period.pk)
        preview = period_reopen_preview(period=period)
        if not period.is_closed:
            raise InvalidTransition(_("The period %(name)s is not closed.") % {"name": period.name})
        if preview["later_closed"]:
            raise InvalidTransition(
                _("Reopen %(later)s first: only the latest closed period can reopen.") % {"later": preview["later_closed"][-1]}
            )
        period.status = FinancePeriod.Status.OPEN
        period.closed_at = None
        period.closed_by = None
        period.save(update_fields=["status", "closed_at", "closed_by"])
        audit_record(obj=period, action="reopened", actor=actor, from_state="closed", to_state="open", message=reason,
                     data={"entries": preview["entries"]})
    return period
