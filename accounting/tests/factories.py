"""Starting states for accounting tests: posted invoices with service periods and VAT, through invoicing's services."""

import datetime as dt
from decimal import Decimal
from functools import partial

from django.db.models import Sum

from accounting.models import ChartAccount, JournalLine
from billing_site.money import round_money
from billing_site.testing import run_together
from invoicing.models import Invoice, InvoiceLine, LineSource
from invoicing.services.documents import invoice_post
from payments.tests.factories import AccountFactory, legal_entity

__all__ = ["AccountFactory", "balance", "legal_entity", "posted_invoice"]


def posted_invoice(account, lines, *, invoice_date: dt.date, vat_percent: str = "20") -> Invoice:
    """A posted invoice; `lines` are (net, start, end, source) with VAT at `vat_percent` on each."""
    invoice = Invoice.objects.create(account=account, legal_entity=legal_entity(), currency="EUR", payment_terms_days=30)
    for position, (net, start, end, source) in enumerate(lines, start=1):
        net = Decimal(net)
        tax = round_money(net * Decimal(vat_percent) / 100, "EUR")
        InvoiceLine.objects.create(
            invoice=invoice, position=position, source=source or LineSource.SUBSCRIPTION, description=f"Line {position}",
            period_start=start, period_end=end, quantity=Decimal("1"), unit_price=net, net_amount=net,
            tax_rate_percent=Decimal(vat_percent), tax_amount=tax, total_amount=net + tax,
        )
    return invoice_post(invoice=invoice, actor=None, today=invoice_date, invoice_date=invoice_date)


def balance(code: str, **filters) -> Decimal:
    """Debit − credit of a ledger account (by number) over the journal lines matching `filters`."""
    account = ChartAccount.objects.get(legal_entity=legal_entity(), code=code)
    totals = JournalLine.objects.filter(ledger_account=account, **filters).aggregate(d=Sum("debit"), c=Sum("credit"))
    return ((totals["d"] or Decimal(0)) - (totals["c"] or Decimal(0))).quantize(Decimal("0.01"))


def books_passes_at_once(count: int, *, today: dt.date) -> list:
    """`count` books passes started together on their own connections; their results, or the
    exception each raised."""
    from accounting.services import books_process

    return run_together(*([partial(books_process, today=today)] * count))


def assert_journaled_once(results: list, *, invoices: int, revenue: str, journal: str) -> None:
    """Every pass succeeded, together they journaled each invoice once: its entry, its 12 revenue rows."""
    from accounting.models import JournalEntry, RevenueLine

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r["invoices"] for r in results) == invoices
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.INVOICE).count() == invoices
    assert RevenueLine.objects.count() == invoices * 12
    assert RevenueLine.objects.aggregate(s=Sum("amount"))["s"] == Decimal(revenue)
    totals = JournalLine.objects.aggregate(d=Sum("debit"), c=Sum("credit"))
    assert totals["d"] == totals["c"] == Decimal(journal)
