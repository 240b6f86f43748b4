"""Balances of invoices, credit notes and payments (DESIGN §3), computed in SQL from the rows.

invoice balance      = total − payments allocated − credits allocated
credit note balance  = total − allocated to invoices − refunded
payment unapplied    = amount − allocated − refunded (kept on the payment row by the services)

"Credits allocated" are the `Allocation` rows from credit notes: the one way a credit note is applied,
by hand here or when invoicing posts a credit note against its invoice. Payment status: `paid` when the balance is 0
(credits count towards paid), `partially_paid` when something was applied, else `unpaid`.

An invoice's balance and payment status are columns (`Invoice.open_amount`, `payment_status`) kept by
`invoicing.services.invoice_settle` in the transaction of each allocation row; reads use them.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
from django.utils.translation import gettext_lazy as _

from billing_site.money import ZERO, round_money
from invoicing.models import CreditNote, Invoice
from invoicing.models import PaymentStatus as InvoicePaymentStatus
from invoicing.selectors import payment_state, with_payment_state  # noqa: F401 (the one rule, re-exported)
from payments.models import Allocation, Refund

AMOUNT = DecimalField(max_digits=18, decimal_places=6)


class PaymentStatus:
    UNPAID = InvoicePaymentStatus.UNPAID.value
    PARTIALLY_PAID = InvoicePaymentStatus.PARTIALLY_PAID.value
    PAID = InvoicePaymentStatus.PAID.value
    OVERDUE = "overdue"
    LABELS = {**dict(InvoicePaymentStatus.choices), OVERDUE: _("Overdue")}
    TONES = {UNPAID: "warn", PARTIALLY_PAID: "info", PAID: "ok", OVERDUE: "bad"}


def _sum_of(queryset, group: str):
    rows = queryset.order_by().values(group).annotate(s=Sum("amount")).values("s")
    return Coalesce(Subquery(rows[:1], output_field=AMOUNT), Value(ZERO), output_field=AMOUNT)


def invoices_with_balance(qs: QuerySet | None = None) -> QuerySet:
    """Invoices annotated with `payments_amount`, `credits_amount` and `pay_status`; `open_amount` is
    the invoice's own column, kept by the services that write allocations."""
    qs = Invoice.objects.all() if qs is None else qs
    payments = _sum_of(Allocation.objects.filter(invoice=OuterRef("pk"), payment__isnull=False), "invoice")
    credits = _sum_of(Allocation.objects.filter(invoice=OuterRef("pk"), credit_note__isnull=False), "invoice")
    return qs.annotate(payments_amount=payments, credits_amount=credits, pay_status=F("payment_status"))


def credit_notes_with_balance(qs: QuerySet | None = None) -> QuerySet:
    """Credit notes annotated with `allocated_amount`, `refunded_amount` and `open_amount`."""
    qs = CreditNote.objects.all() if qs is None else qs
    mine = _sum_of(Allocation.objects.filter(credit_note=OuterRef("pk")), "credit_note")
    refunded = _sum_of(Refund.objects.filter(credit_note=OuterRef("pk")), "credit_note")
    return qs.annotate(allocated_amount=mine, refunded_amount=refunded).annotate(
        open_amount=Round(F("total_amount") - F("allocated_amount") - F("refunded_amount"), 6, output_field=AMOUNT)
    )


def invoice_balance(invoice: Invoice) -> Decimal:
    """The invoice's open balance now (read again from its row), rounded to its currency."""
    row = Invoice.objects.filter(pk=invoice.pk).values_list("open_amount", flat=True).get()
    return round_money(row, invoice.currency)


def invoice_payment_status(invoice: Invoice) -> str:
    return Invoice.objects.filter(pk=invoice.pk).values_list("payment_status", flat=True).get()


def invoice_open_by_sum(invoice_id: int) -> Decimal:
    """The balance recomputed from every allocation row (what the `open_amount` column must equal)."""
    invoice = Invoice.objects.get(pk=invoice_id)
    settled = Allocation.objects.filter(invoice_id=invoice_id).aggregate(s=Sum("amount"))["s"] or ZERO
    return round_money(invoice.total_amount - settled, invoice.currency)


def credit_note_balance(credit_note: CreditNote) -> Decimal:
    row = credit_notes_with_balance(CreditNote.objects.filter(pk=credit_note.pk)).values_list("open_amount", flat=True).get()
    return round_money(row, credit_note.currency)


def line_balance(*, invoice_line) -> Decimal:
    """What is still open on one invoice line (its total − allocations made to that line)."""
    applied = Allocation.objects.filter(invoice_line=invoice_line).aggregate(s=Sum("amount"))["s"] or ZERO
    return round_money(invoice_line.total_amount - applied, invoice_line.invoice.currency)


def net_allocations(*, invoice: Invoice, payment=None, credit_note=None) -> list[tuple[int | None, Decimal]]:
    """(invoice line id or None, net amount) still applied from one source to one invoice."""
    qs = Allocation.objects.filter(invoice=invoice)
    qs = qs.filter(payment=payment) if payment is not None else qs.filter(credit_note=credit_note)
    rows = qs.order_by().values("invoice_line").annotate(s=Sum("amount")).order_by("invoice_line")
    return [(r["invoice_line"], round_money(r["s"], invoice.currency)) for r in rows if round_money(r["s"], invoice.currency) != 0]


def open_invoices(*, account, currency: str | None = None) -> QuerySet:
    """The account's posted invoices with something still to pay, oldest due first."""
    qs = Invoice.objects.filter(account=account, status=Invoice.Status.POSTED)
    if currency:
        qs = qs.filter(currency=currency)
    return qs.filter(open_amount__gt=0).order_by("due_date", "invoice_date", "id")


def open_credit_notes(*, account, currency: str | None = None) -> QuerySet:
    qs = CreditNote.objects.filter(account=account, status=CreditNote.Status.POSTED)
    if currency:
        qs = qs.filter(currency=currency)
    return credit_notes_with_balance(qs).filter(open_amount__gt=0).order_by("credit_date", "id")


def credit_note_used_by_payments(credit_note_id: int) -> Decimal:
    """What payments' rows use of a credit note: allocations made here and refunds."""
    allocated = Allocation.objects.filter(credit_note_id=credit_note_id).aggregate(s=Sum("amount"))["s"] or ZERO
    refunded = Refund.objects.filter(credit_note_id=credit_note_id).aggregate(s=Sum("amount"))["s"] or ZERO
    return allocated + refunded
