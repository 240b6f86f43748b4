"""Demo invoicing: twelve months of invoice runs over the demo contracts, replayed through the services.

The year is replayed in date order, as the scheduled jobs would have lived it: on the first of every
month since the oldest demo contract started, the usage of the past weeks is imported, the renewal
job runs (`renewals_create`, `contracts_expire`) and a monthly invoice run bills everything due on
that day and posts it (`invoice_run_create` + `invoice_run_execute`, synchronously, with the past
date as target and invoice date). The contracts demo's amendments are applied on their own dates in
between, so their credits come out of the next run as amendment credit notes.

Today, a run bills what fell due since the first of the month and leaves drafts for finance to
review; one of them is posted by hand (`invoice_post`). A partial goodwill credit note is issued on
one open invoice. Payments come next, in the payments demo.

Idempotent: the history is replayed only on a database without invoices or invoice runs.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Min

from billing_site import clock
from billing_site.money import round_money
from catalog.models import Product
from contracts.models import Contract, Subscription
from invoicing import services
from invoicing.models import CreditNote, Invoice, InvoiceRun, InvoiceSchedule, LineSource

# Usage is reported weekly, on these days of the month.
USAGE_DAYS = (3, 10, 17, 24)
# Per record: base quantity, step, cycle (quantities vary deterministically month to month).
USAGE_PROFILE = {
    "USAGE-API": (Decimal("60000"), Decimal("12500"), 7),
    "USAGE-SMS": (Decimal("400"), Decimal("150"), 6),
    "USAGE-COMPUTE": (Decimal("250"), Decimal("60"), 9),
    "USAGE-STORAGE": (Decimal("40"), Decimal("15"), 5),
}
GOODWILL = ("Énergies Solaires du Sud", Decimal("0.10"),
            "Geste commercial : indisponibilité du service du 3 au 5 du mois (10 % de l'abonnement).")


def seed(*, stdout=None, owners=None, users=None) -> dict:
    finance = (users or {}).get("finance")
    if not InvoiceSchedule.objects.filter(name="Daily run").exists():
        services.invoice_schedule_save(actor=finance, data={"name": "Daily run", "frequency": "daily", "auto_post": True, "active": False})
    if Invoice.objects.exists() or InvoiceRun.objects.exists():
        _say(stdout, f"  invoicing: {Invoice.objects.count()} invoices already there")
        return {}
    from contracts import demo as contracts_demo

    contracts = Contract.objects.filter(order__notes__startswith=contracts_demo.MARK)
    first = contracts.aggregate(first=Min("start_date"))["first"]
    if first is None:
        _say(stdout, "  invoicing: no demo contracts to bill")
        return {}
    today = clock.today()
    replay = _Replay(today=today, actor=finance, contracts=contracts, start=first,
                     amendments=contracts_demo.amendment_events(today=today, actor=finance))
    counts = replay.run()
    _say(stdout, "  invoicing: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return counts


class _Replay:
    def __init__(self, *, today, actor, contracts, start, amendments):
        self.today, self.actor, self.contracts, self.amendments = today, actor, contracts, list(amendments)
        self.usage_from = start
        self.counts = {"runs": 0, "usage records": 0, "amendments": 0, "renewals": 0}

    def run(self) -> dict:
        from contracts import demo as contracts_demo

        this_month = self.today.replace(day=1)
        day = self.usage_from.replace(day=1)
        while day <= this_month:
            self._until(day)
            self._renewals(day)
            self._bill(day, post=True)
            day = contracts_demo.month_start(day, -1)
        # Today: what fell due since the first of the month, left as drafts for finance.
        self._until(self.today)
        if self.today > this_month:
            run = self._bill(self.today, post=False)
            draft = Invoice.objects.filter(run=run, status=Invoice.Status.DRAFT).order_by("total_amount", "id").first()
            if draft is not None:
                services.invoice_post(invoice=draft, actor=self.actor, today=self.today)
        from contracts.services import schedules_extend

        schedules_extend(today=self.today)
        self._goodwill_credit()
        self.counts["invoices"] = Invoice.objects.filter(status=Invoice.Status.POSTED).count()
        self.counts["drafts"] = Invoice.objects.filter(status=Invoice.Status.DRAFT).count()
        self.counts["credit notes"] = CreditNote.objects.count()
        return self.counts

    def _until(self, day: dt.date) -> None:
        """Amendments effective on or before `day`, then the usage recorded before it."""
        while self.amendments and self.amendments[0][0] <= day:
            _effective, _key, apply = self.amendments.pop(0)
            apply()
            self.counts["amendments"] += 1
        self._usage(self.usage_from, day)
        self.usage_from = max(self.usage_from, day)

    def _usage(self, start: dt.date, end: dt.date) -> None:
        """Weekly usage reports for every usage subscription, on days in [start, end)."""
        if end <= start:
            return
        records = []
        subscriptions = (Subscription.objects.filter(contract__in=self.contracts, charge_type=Product.ChargeType.USAGE)
                         .select_related("product").order_by("id"))
        for index, sub in enumerate(subscriptions):
            base, step, cycle = USAGE_PROFILE.get(sub.product.sku, (Decimal("10"), Decimal("5"), 4))
            day = start
            while day < end:
                served = sub.start_date <= day and (sub.end_date is None or day < sub.end_date)
                if day.day in USAGE_DAYS and served:
                    quantity = base + step * ((day.month * 3 + day.day + index) % cycle)
                    records.append({"subscription": sub.pk, "quantity": str(quantity), "timestamp": f"{day.isoformat()}T10:00:00",
                                    "idempotency_key": f"demo-{sub.pk}-{day.isoformat()}"})
                day += dt.timedelta(days=1)
        if records:
            result = services.usage_ingest(records=records, actor=self.actor, source="api")
            self.counts["usage records"] += result.imported

    def _renewals(self, day: dt.date) -> None:
        """The daily renewal job, as it ran that day."""
        from contracts.services import contracts_expire, renewals_create

        result = renewals_create(today=day)
        contracts_expire(today=day)
        self.counts["renewals"] += result.get("renewed", 0) + result.get("quoted", 0)

    def _bill(self, day: dt.date, *, post: bool) -> InvoiceRun:
        run = services.invoice_run_create(actor=self.actor, target_date=day, invoice_date=day, auto_post=post,
                                          send_documents=False, start=False)
        run = services.invoice_run_execute(run=run, now=_at(day))
        self.counts["runs"] += 1
        return run

    def _goodwill_credit(self) -> None:
        """A partial credit note on the latest open invoice of one account (10 % of its plan line)."""
        name, share, reason = GOODWILL
        invoice = (Invoice.objects.filter(account__name=name, status=Invoice.Status.POSTED, due_date__gt=self.today)
                   .order_by("-invoice_date", "-id").first())
        if invoice is None:
            return
        line = invoice.lines.filter(source=LineSource.SUBSCRIPTION).order_by("-net_amount", "id").first() or invoice.lines.order_by("-net_amount", "id").first()
        if line is None or line.net_amount <= 0:
            return
        amount = round_money(line.net_amount * share, invoice.currency)
        note = services.credit_note_create(invoice=invoice, lines={str(line.pk): str(amount)}, reason=reason, actor=self.actor)
        services.credit_note_post(credit_note=note, actor=self.actor, today=self.today)


def _at(day: dt.date) -> dt.datetime:
    """6 a.m. on a business day, when the scheduled runs go."""
    return dt.datetime.combine(day, dt.time(6), tzinfo=clock.billing_zone())


def _say(stdout, text: str) -> None:
    if stdout:
        stdout.write(text)
