"""An in-memory schedule for testing the pure planner: applies plans the way the services do."""

from dataclasses import replace
from datetime import date
from decimal import Decimal
from itertools import count

from contracts import scheduling
from contracts.scheduling import BILLED, CANCELLED, PENDING, Entry, Terms


class Ledger:
    """One subscription's schedule rows, with ids, statuses and the planner's rules applied."""

    def __init__(self, *, terms: Terms, quantity: Decimal, start: date, end: date | None, until: date | None = None):
        self.terms = terms
        self.end = end
        self.until = until
        self._ids = count(1)
        self.rows: list[Entry] = []
        self._add(scheduling.entries_for(terms=terms, quantity=quantity, start=start, end=end, until=until))

    def _add(self, entries):
        for e in entries:
            self.rows.append(replace(e, id=next(self._ids)))

    def bill(self, target: date) -> list[Entry]:
        """Bill every pending entry due on `target` (bill_on ≤ target)."""
        billed = []
        for i, e in enumerate(self.rows):
            if e.status == PENDING and e.bill_on <= target and e.amount is not None:
                self.rows[i] = replace(e, status=BILLED)
                billed.append(self.rows[i])
        return billed

    def amend(self, *, effective: date, quantity: Decimal, today: date) -> scheduling.Plan:
        plan = scheduling.plan_change(
            terms=self.terms, entries=list(self.rows), effective=effective, new_quantity=quantity, end=self.end,
            until=self.until, today=today,
        )
        cancelled = {e.id for e in plan.cancelled}
        self.rows = [replace(e, status=CANCELLED) if e.id in cancelled else e for e in self.rows]
        self._add(plan.new_entries)
        return plan

    def live(self) -> list[Entry]:
        return [e for e in self.rows if e.status != CANCELLED]

    def total(self, status: str | None = None) -> Decimal:
        return sum((e.amount for e in self.live() if status is None or e.status == status), Decimal("0"))

    def table(self, status: str | None = None) -> list[tuple]:
        return [
            (e.kind, e.period_start.isoformat(), e.period_end.isoformat(), str(e.factor.numerator) + "/" + str(e.factor.denominator), str(e.amount))
            for e in self.rows if status is None or e.status == status
        ]
