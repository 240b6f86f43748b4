"""Demo payments: a year of collections on the demo invoices, replayed day by day through the services.

Each demo account pays the way a real customer does (`PROFILES`; anyone not listed pays by transfer,
direct debit or check around the due date). The replay walks from the first invoice to today and,
on each day: applies credit notes and refunds, records the payments received that day
(`payment_record`, auto-allocated or allocated by hand), runs the payment run when an autopay
invoice is due (`payment_run_start` + `payment_run_execute` on the sandbox gateway) and runs the
dunning ladder (`dunning_run`), as the scheduled jobs would have. What is left is a realistic open
receivable: current invoices, late payers 1–30 days overdue (one partly paid), one account that
stopped paying three months ago and that the ladder put on credit hold, and two accounts already on
hold with invoices 61–90 and over 90 days overdue (one of them partly paid). Along the way: an
amendment credit note refunded (a downsell's credit is netted on the next invoice), an unapplied overpayment, and a
card declined for insufficient funds. Today's bank statement is imported at the end, with one line
left in the review queue.

Emails the ladder "sent" during the replay belong to the past: they go to a dummy mail backend.

Idempotent: the ladder is matched by offset, the statement by its file name, and the history is
replayed only on a database without payments, payment runs or dunning events.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from billing_site import clock
from billing_site.money import round_money
from customers.models import Account
from invoicing.models import CreditNote, Invoice
from payments import services
from payments.models import (
    DunningEvent,
    DunningStep,
    Payment,
    PaymentAttempt,
    PaymentMethod,
    PaymentRun,
    StatementImport,
)
from payments.selectors import open_invoices
from payments.selectors.balances import credit_note_balance, invoice_balance
from payments.services.runs import payment_run_candidates

LADDER = [
    ("Friendly reminder", -3, DunningStep.Action.EMAIL, DunningStep.Template.REMINDER),
    ("First overdue notice", 7, DunningStep.Action.EMAIL, DunningStep.Template.OVERDUE),
    ("Second notice", 14, DunningStep.Action.EMAIL, DunningStep.Template.SECOND),
    ("Final notice and credit hold", 30, DunningStep.Action.EMAIL_HOLD, DunningStep.Template.FINAL),
]

# Cards charged by the daily payment run (gateway tokens of the sandbox, never card numbers).
AUTOPAY = [("Northwind Traders", "tok_visa", "4242"), ("Summit Outdoor Gear", "tok_mastercard", "4444")]
# This account pays by transfer until it registers a new card, the day before its latest due date;
# the payment run's charge is declined (insufficient funds, retried later) and it pays by transfer.
DECLINING = ("Blue Ridge Analytics", "tok_insufficient_funds", "9995")

# How accounts pay; anyone not listed pays on time. (kind, days)
#   late: `days` after the due date; partial: half on the due date, the rest `days` later;
#   stops: pays nothing invoiced in the last `days` months (plus this one).
PROFILES = {
    "Transports Lefèvre": ("late", 25),
    "Hôtel des Arts": ("late", 20),
    "Cedar & Pine Dental": ("late", 24),
    "Lone Star Fabrication": ("late", 16),
    "Harbor Freight Logistics": ("late", 18),
    "Pharmacie Centrale Dubois": ("late", 19),
    "Studio Garnier Design": ("late", 16),
    "Great Lakes Brewing Supply": ("partial", 20),
    "Logistique Mercier": ("stops", 3),
    "Librairie Papillon": ("stops", 5),
    "Magnolia Hospitality": ("stops", 3),
}
# Of the first invoice it leaves unpaid, this account still paid a part.
PARTLY_PAID = ("Magnolia Hospitality", Decimal("0.40"))
# This account's last payment is a round amount above what it owed: the rest stays unapplied.
OVERPAYS = ("Empire Property Group", Decimal("1000"))
# Amendment credit notes: applied to the invoice of the same run, or refunded two weeks later.
CREDIT_APPLIED = "Boulangeries Martin"
CREDIT_REFUNDED = "Agence Lumière"

STATEMENT = "demo-releve.csv"
UNKNOWN_TRANSFER = ("437.15", "VIREMENT DIVERS REF 88412", "SARL INCONNUE")
BANK_FEE = ("-35.00", "FRAIS TENUE DE COMPTE", "BANQUE")


def seed(*, stdout=None, owners=None, users=None) -> dict:
    today = clock.today()
    have = set(DunningStep.objects.values_list("offset_days", flat=True))
    for name, offset, action, template in LADDER:
        if offset not in have:
            services.dunning_step_save(actor=None, data={"name": name, "offset_days": offset, "action": action, "template": template})
    counts = {}
    if not (Payment.objects.exists() or PaymentRun.objects.exists() or DunningEvent.objects.exists()):
        finance = (users or {}).get("finance")
        with _past_emails():
            counts = _Replay(today=today, actor=finance).run()
    imported = _statement(today)
    if stdout:
        done = ", ".join(f"{v} {k}" for k, v in counts.items()) or "history already there"
        stdout.write(f"  payments: ladder of {DunningStep.objects.count()} steps; {done}"
                     f"{'; bank statement imported' if imported else ''}")
    return counts


@dataclass(order=True)
class _Event:
    day: dt.date
    rank: int  # within a day: cards and credits (0), then payments (1)
    seq: int
    kind: str = ""
    invoice_id: int | None = None
    credit_note_id: int | None = None
    share: Decimal | None = None
    overpay: bool = False


class _Replay:
    def __init__(self, *, today: dt.date, actor):
        self.today, self.actor = today, actor
        self.counts = {"payments": 0, "payment runs": 0, "credit notes applied": 0, "refunds": 0}
        self.events: list[_Event] = []
        self.autopay = {name for name, _t, _l in AUTOPAY}

    def run(self) -> dict:
        invoices = list(Invoice.objects.filter(status=Invoice.Status.POSTED).select_related("account").order_by("invoice_date", "id"))
        if not invoices:
            return self.counts
        self._cards()
        self._plan_payments(invoices)
        self._plan_credits()
        self.events.sort()
        queue = list(self.events)
        # The daily jobs change something only on the days a step falls due or an autopay invoice (or
        # a retry) is due: they run on those days, which gives what running them every day gives.
        offsets = list(DunningStep.objects.filter(active=True).values_list("offset_days", flat=True))
        dunning_days = {i.due_date + dt.timedelta(days=o) for i in invoices for o in offsets} | {self.today}
        charge_days = {i.due_date for i in invoices if i.account.name in self.autopay} | {e.day for e in self.events if e.kind == "card"}
        day = invoices[0].invoice_date
        while day <= self.today:
            while queue and queue[0].day <= day:
                self._do(queue.pop(0))
            if day in charge_days and payment_run_candidates(today=day):
                run = services.payment_run_start(today=day, trigger=PaymentRun.Trigger.SCHEDULED)
                services.payment_run_execute(run=run, today=day)
                self.counts["payment runs"] += 1
                charge_days |= set(PaymentAttempt.objects.filter(next_retry_on__gt=day).values_list("next_retry_on", flat=True))
            if day in dunning_days:
                services.dunning_run(today=day)
            day += dt.timedelta(days=1)
        self.counts["dunning events"] = DunningEvent.objects.count()
        self.counts["accounts on credit hold"] = Account.objects.filter(credit_hold=True).count()
        return self.counts

    # -- the plan --------------------------------------------------------------------------------

    def _add(self, day, rank, kind, **kw) -> None:
        if day <= self.today:
            self.events.append(_Event(day, rank, len(self.events), kind, **kw))

    def _cards(self) -> None:
        for name, token, last4 in AUTOPAY:
            account = Account.objects.filter(name=name).first()
            if account is not None and not PaymentMethod.objects.filter(account=account).exists():
                services.payment_method_add(account=account, token=token, last4=last4, exp_month=9, exp_year=self.today.year + 2,
                                            is_autopay=True)

    def _plan_payments(self, invoices: list[Invoice]) -> None:
        declining = self._declining_invoice(invoices)
        last_paid = {}
        for invoice in invoices:
            account = invoice.account
            if account.name in self.autopay:
                continue
            if declining is not None and invoice.pk == declining.pk:
                self._add(invoice.due_date - dt.timedelta(days=1), 0, "card", invoice_id=invoice.pk)
                self._add(invoice.due_date + dt.timedelta(days=2), 1, "pay", invoice_id=invoice.pk)
                continue
            kind, days = PROFILES.get(account.name, ("on_time", 0))
            wobble = (invoice.invoice_date.month + _n(account)) % 4
            if kind == "late":
                self._add(invoice.due_date + dt.timedelta(days=days + wobble), 1, "pay", invoice_id=invoice.pk)
            elif kind == "partial":
                self._add(invoice.due_date, 1, "pay", invoice_id=invoice.pk, share=Decimal("0.5"))
                self._add(invoice.due_date + dt.timedelta(days=days), 1, "pay", invoice_id=invoice.pk)
            elif kind == "stops":
                from contracts.demo import month_start

                if invoice.invoice_date < month_start(self.today, days):
                    self._add(invoice.due_date - dt.timedelta(days=wobble), 1, "pay", invoice_id=invoice.pk)
                elif account.name == PARTLY_PAID[0] and account.pk not in last_paid:
                    last_paid[account.pk] = invoice.pk
                    self._add(invoice.due_date + dt.timedelta(days=10), 1, "pay", invoice_id=invoice.pk, share=PARTLY_PAID[1])
            else:
                # Around the due date: from three days early to four days late; a direct debit on the day.
                shift = 0 if _direct_debit(account) else (invoice.invoice_date.month * 5 + _n(account)) % 8 - 3
                day = max(invoice.invoice_date + dt.timedelta(days=2), invoice.due_date + dt.timedelta(days=shift))
                self._add(day, 1, "pay", invoice_id=invoice.pk)
        overpayer_invoices = {i.pk for i in invoices if i.account.name == OVERPAYS[0]}
        overpayer = [e for e in self.events if e.kind == "pay" and e.invoice_id in overpayer_invoices]
        if overpayer:
            max(overpayer, key=lambda e: (e.day, e.seq)).overpay = True

    def _declining_invoice(self, invoices: list[Invoice]) -> Invoice | None:
        mine = [i for i in invoices if i.account.name == DECLINING[0] and i.due_date <= self.today and i.total_amount > 0]
        return max(mine, key=lambda i: (i.due_date, i.pk)) if mine else None

    def _plan_credits(self) -> None:
        for note in CreditNote.objects.filter(status=CreditNote.Status.POSTED, kind=CreditNote.Kind.AMENDMENT).select_related("account"):
            if note.account.name == CREDIT_APPLIED:
                self._add(note.credit_date, 0, "apply_credit", credit_note_id=note.pk)
            elif note.account.name == CREDIT_REFUNDED:
                self._add(note.credit_date + dt.timedelta(days=14), 0, "refund_credit", credit_note_id=note.pk)

    # -- doing it --------------------------------------------------------------------------------

    def _do(self, event: _Event) -> None:
        getattr(self, f"_{event.kind}")(event)

    def _card(self, event: _Event) -> None:
        account = Invoice.objects.get(pk=event.invoice_id).account
        _name, token, last4 = DECLINING
        services.payment_method_add(account=account, token=token, last4=last4, exp_month=3, exp_year=self.today.year + 3,
                                    is_autopay=True)

    def _pay(self, event: _Event) -> None:
        invoice = Invoice.objects.select_related("account").get(pk=event.invoice_id)
        balance = invoice_balance(invoice)
        if balance <= 0:
            return
        account, day = invoice.account, event.day
        amount = balance if event.share is None else round_money(balance * event.share, invoice.currency)
        method, reference = _how(account, invoice, by_debit=PROFILES.get(account.name, ("on_time",))[0] == "on_time")
        if event.overpay:
            step = OVERPAYS[1]
            paid = ((amount // step) + 1) * step
            payment = services.payment_record(account=account, amount=paid, currency=invoice.currency, received_date=day, method=method,
                                              today=day, actor=self.actor, reference=reference)
            services.payment_allocate(payment=payment, invoice=invoice, amount=amount, today=day, actor=self.actor)
        elif event.share is None and PROFILES.get(account.name, ("on_time",))[0] in ("on_time", "late"):
            # Paid in due order, so "oldest due first" puts it on this invoice.
            services.payment_record(account=account, amount=amount, currency=invoice.currency, received_date=day, method=method,
                                    today=day, actor=self.actor, reference=reference, auto_allocate=True)
        else:
            payment = services.payment_record(account=account, amount=amount, currency=invoice.currency, received_date=day,
                                              method=method, today=day, actor=self.actor, reference=reference)
            services.payment_allocate(payment=payment, invoice=invoice, amount=amount, today=day, actor=self.actor)
        self.counts["payments"] += 1

    def _apply_credit(self, event: _Event) -> None:
        note = CreditNote.objects.get(pk=event.credit_note_id)
        target = Invoice.objects.filter(account_id=note.account_id, currency=note.currency, status=Invoice.Status.POSTED,
                                        invoice_date=note.credit_date).order_by("id").first()
        amount = min(credit_note_balance(note), invoice_balance(target)) if target is not None else 0
        if amount > 0:
            services.credit_note_allocate(credit_note=note, invoice=target, amount=amount, today=event.day, actor=self.actor)
            self.counts["credit notes applied"] += 1

    def _refund_credit(self, event: _Event) -> None:
        note = CreditNote.objects.get(pk=event.credit_note_id)
        amount = credit_note_balance(note)
        if amount > 0:
            services.credit_note_refund(credit_note=note, amount=amount, today=event.day, actor=self.actor,
                                        reason="Résiliation du contrat : remboursement du service non consommé")
            self.counts["refunds"] += 1


def _n(account: Account) -> int:
    """A stable number per account (its name's CRC), so the demo does not depend on database ids."""
    return zlib.crc32(account.name.encode())


def _direct_debit(account: Account) -> bool:
    return account.country == "FR" and _n(account) % 3 == 0


def _how(account: Account, invoice: Invoice, *, by_debit: bool) -> tuple[str, str]:
    """Payment method and bank reference, the way this customer pays."""
    if account.country == "FR":
        if by_debit and _direct_debit(account):
            return "direct_debit", f"PRLV SEPA {invoice.number}"
        return "bank_transfer", f"VIR SEPA {account.legal_name.upper()} {invoice.number}"
    if _n(account) % 2:
        return "check", f"CHECK #{4100 + (invoice.sequence or 0)}"
    return "bank_transfer", f"ACH {invoice.number}"


class _past_emails:
    """Emails queued while replaying the past go to a dummy backend: they were sent back then.

    The senders run after the outer transaction commits (in order), so the backend is swapped by
    commit callbacks registered around them; without a transaction they run at once, in order too."""

    def __enter__(self):
        transaction.on_commit(self._quiet)
        return self

    def __exit__(self, *exc):
        transaction.on_commit(self._restore)
        return False

    def _quiet(self):
        self.backend = settings.EMAIL_BACKEND
        settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

    def _restore(self):
        settings.EMAIL_BACKEND = self.backend


def _statement(today: dt.date) -> bool:
    """Today's bank statement: two transfers naming their invoice, one naming only the customer, one
    unknown transfer for the review queue and the bank's fee. Imported once."""
    if StatementImport.objects.filter(file_name=STATEMENT).exists():
        return False
    booked = today - dt.timedelta(days=1)
    rows = ["date,amount,currency,reference,counterparty"]
    candidates = []
    skip = set(PROFILES) | {name for name, _t, _l in AUTOPAY} | {DECLINING[0]}
    for invoice in (open_invoices_due_after(today).filter(currency="EUR").select_related("account")):
        account = invoice.account
        if account.name in skip or _direct_debit(account) or any(c.account_id == account.pk for c in candidates):
            continue
        if Account.objects.filter(legal_name__icontains=account.legal_name).count() != 1:
            continue
        if len(candidates) == 2 and open_invoices(account=account, currency="EUR").filter(open_amount=invoice.open_amount).count() != 1:
            continue  # the line naming only the customer must point at one invoice by its amount
        candidates.append(invoice)
        if len(candidates) == 3:
            break
    for n, invoice in enumerate(candidates):
        amount = f"{round_money(invoice.open_amount, invoice.currency):.2f}"
        if n < 2:
            rows.append(f"{booked.isoformat()},{amount},EUR,VIR SEPA FACT {invoice.number},{invoice.account.legal_name}")
        else:
            rows.append(f"{booked.isoformat()},{amount},EUR,VIREMENT {booked.strftime('%m/%Y')},{invoice.account.legal_name}")
    for amount, reference, counterparty in (UNKNOWN_TRANSFER, BANK_FEE):
        rows.append(f"{booked.isoformat()},{amount},EUR,{reference},{counterparty}")
    services.statement_import(file_name=STATEMENT, content=("\n".join(rows) + "\n").encode(), today=today)
    return True


def open_invoices_due_after(today: dt.date):
    """Posted invoices still open and not yet due, soonest due first."""
    from payments.selectors.balances import invoices_with_balance

    return (invoices_with_balance(Invoice.objects.filter(status=Invoice.Status.POSTED, due_date__gt=today))
            .filter(open_amount__gt=0).order_by("due_date", "id"))
