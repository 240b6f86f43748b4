"""Dunning: walk the ladder for every open posted invoice and send what is due, once.

A step applies to an invoice when today ≥ due date + offset and the invoice still has a balance
(dunning stops when it is paid). One `DunningEvent` per (invoice, step) under a UNIQUE constraint:
re-runs and overlapping runs never send a reminder twice. When several steps became due at once
(a ladder set up late, a job that did not run for days), only the latest is emailed and the
earlier ones are recorded as skipped. A step with the credit-hold action puts the account on hold.
Emails are sent after commit, in the invoice's language, from `payments/dunning/<template>.<lang>.txt`.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from billing_site.audit import audit_record
from billing_site.errors import ValidationFailed
from billing_site.events import event_record, fields_of
from billing_site.money import format_money, round_money
from customers.services import account_set_credit_hold
from invoicing.models import Invoice
from payments.models import DunningEvent, DunningStep
from payments.selectors.balances import invoice_balance
from payments.services._common import lock_invoices

log = logging.getLogger(__name__)
STEP_FIELDS = ("name", "offset_days", "action", "template", "active")


@transaction.atomic
def dunning_step_save(*, actor, data: dict, step: DunningStep | None = None) -> DunningStep:
    """Create or edit a rung of the ladder."""
    step = DunningStep() if step is None else DunningStep.objects.select_for_update().get(pk=step.pk)
    for field in STEP_FIELDS:
        if field in data:
            setattr(step, field, data[field])
    errors = {}
    if not (step.name or "").strip():
        errors["name"] = [_("Enter a name.")]
    if step.offset_days is None or not -60 <= int(step.offset_days) <= 365:
        errors["offset_days"] = [_("Enter a number of days from -60 to 365.")]
    elif DunningStep.objects.filter(offset_days=step.offset_days).exclude(pk=step.pk).exists():
        errors["offset_days"] = [_("Another step already runs on this day.")]
    if step.action not in DunningStep.Action.values:
        errors["action"] = [_("Choose an action.")]
    if step.template not in DunningStep.Template.values:
        errors["template"] = [_("Choose an email template.")]
    if errors:
        raise ValidationFailed(fields=errors)
    created = step.pk is None
    step.save()
    audit_record(obj=step, action="created" if created else "updated", actor=actor,
                 data={f: str(getattr(step, f)) for f in STEP_FIELDS})
    return step


def dunning_run(*, today: dt.date) -> dict:
    """Apply every due step to every open invoice; returns counts (sent, skipped, holds)."""
    steps = list(DunningStep.objects.filter(active=True).order_by("offset_days"))
    counts = {"sent": 0, "skipped": 0, "no_email": 0, "holds": 0}
    if not steps:
        return counts
    latest_due = today - dt.timedelta(days=steps[0].offset_days)
    invoices = Invoice.objects.filter(
        status=Invoice.Status.POSTED, due_date__lte=latest_due, open_amount__gt=0
    ).order_by("due_date", "id")
    done: dict[int, set[int]] = {}
    for invoice_id, step_id in DunningEvent.objects.filter(invoice__in=invoices.values("pk")).values_list("invoice_id", "step_id"):
        done.setdefault(invoice_id, set()).add(step_id)
    for invoice_id, due_date in invoices.values_list("pk", "due_date"):
        assert due_date is not None  # due_date__lte above
        due_steps = [s for s in steps if due_date + dt.timedelta(days=s.offset_days) <= today]
        if any(s.pk not in done.get(invoice_id, set()) for s in due_steps):
            result = _dunning_invoice(invoice_id=invoice_id, steps=due_steps, today=today)
            for key, value in result.items():
                counts[key] += value
    return counts


def _dunning_invoice(*, invoice_id: int, steps: list[DunningStep], today: dt.date) -> dict:
    counts = {"sent": 0, "skipped": 0, "no_email": 0, "holds": 0}
    try:
        with transaction.atomic():
            invoice = lock_invoices([invoice_id])[0]
            balance = invoice_balance(invoice)
            if invoice.status != Invoice.Status.POSTED or balance <= 0:
                return counts  # paid meanwhile: dunning stops
            done = dict(DunningEvent.objects.filter(invoice=invoice).values_list("step_id", "step__offset_days"))
            new = [s for s in steps if s.pk not in done]
            if not new:
                return counts
            highest_done = max(done.values(), default=None)
            if not done:
                event_record(type="invoice.overdue", account_id=invoice.account_id, payload={
                    **fields_of(invoice, "id", "number", "currency", "due_date", "total_amount"), "balance_amount": round_money(balance, invoice.currency)})
            account = invoice.account
            hold = False
            for step in new:
                latest = step is new[-1] and (highest_done is None or step.offset_days > highest_done)
                emails = account.billing_email_list
                if not latest:
                    status = DunningEvent.Status.SKIPPED
                else:
                    status = DunningEvent.Status.SENT if emails else DunningEvent.Status.NO_EMAIL
                subject = ""
                if status == DunningEvent.Status.SENT:
                    subject, body = dunning_email(step=step, invoice=invoice, balance=balance, today=today)
                    transaction.on_commit(_sender(subject, body, emails))
                applies_hold = step.action == DunningStep.Action.EMAIL_HOLD
                DunningEvent.objects.create(
                    invoice=invoice, step=step, account=account, status=status, run_date=today,
                    email_to=", ".join(emails) if status == DunningEvent.Status.SENT else "", subject=subject[:200],
                    balance_amount=balance, credit_hold=applies_hold,
                )
                counts[{"sent": "sent", "skipped": "skipped", "no_email": "no_email"}[status]] += 1
                hold = hold or applies_hold
                audit_record(obj=invoice, action="dunning_" + status, actor_label="dunning", message=step.name)
            if hold and not account.credit_hold:
                account_set_credit_hold(
                    account=account, actor=None, hold=True, actor_label="dunning",
                    reason=_("Invoice %(number)s is overdue: %(amount)s unpaid.")
                    % {"number": invoice.number, "amount": format_money(balance, invoice.currency)},
                )
                counts["holds"] += 1
    except IntegrityError:
        # Another dunning run recorded these steps first; nothing is sent twice.
        return {"sent": 0, "skipped": 0, "no_email": 0, "holds": 0}
    return counts


def dunning_email(*, step: DunningStep, invoice: Invoice, balance, today: dt.date) -> tuple[str, str]:
    """Subject and body of a step's email, in the invoice's language (English if no template)."""
    language = invoice.language if invoice.language in dict(settings.LANGUAGES) else "en"
    account = invoice.account
    assert invoice.due_date is not None, "only posted invoices, which have a due date, are dunned"
    context = {
        "account": account, "invoice": invoice, "step": step,
        "balance": format_money(round_money(balance, invoice.currency), invoice.currency, language),
        "total": format_money(invoice.total_amount, invoice.currency, language),
        "days_overdue": (today - invoice.due_date).days, "days_to_due": (invoice.due_date - today).days,
        "legal_entity": invoice.legal_entity,
    }
    with translation.override(language):
        text = render_to_string(
            [f"payments/dunning/{step.template}.{language}.txt", f"payments/dunning/{step.template}.en.txt"], context
        )
    subject, _sep, body = text.strip().partition("\n")
    return subject.removeprefix("Subject:").strip(), body.strip() + "\n"


def _sender(subject: str, body: str, recipients: list[str]):
    def send():
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:  # an SMTP failure must not undo the recorded event; it is logged for a resend
            log.exception("dunning email to %s failed", recipients)

    return send
