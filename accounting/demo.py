"""Demo books: the demo history journaled, and every finance period before the current month closed,
so revenue is recognized month by month and the reports show real shapes. Idempotent: documents
are journaled once and closed periods stay closed."""

from __future__ import annotations

from accounting.models import FinancePeriod
from accounting.services import books_process, period_close
from billing_site import clock


def seed(*, stdout=None, users=None) -> dict:
    today = clock.today()
    finance = (users or {}).get("finance")
    result = books_process(today=today)
    month_start = today.replace(day=1)
    closed = 0
    for period in FinancePeriod.objects.filter(status=FinancePeriod.Status.OPEN, end_date__lte=month_start).order_by(
        "legal_entity", "start_date"
    ):
        period_close(period=period, actor=finance, today=today)
        closed += 1
    if stdout is not None:
        stdout.write(f"Books: {result['invoices']} invoices, {result['credit_notes']} credit notes, {result['payments']} payments, "
                     f"{result['refunds']} refunds journaled; {closed} periods closed.")
    return {**result, "closed": closed}
