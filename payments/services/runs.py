"""Stored payment methods and payment runs: charge the due invoices of autopay accounts.

How a run never charges an invoice twice (DESIGN §3 "exactly once"):
1. Claim: under the invoice's row lock, insert a `PaymentAttempt` (status pending) with the next
   attempt number. UNIQUE (invoice, attempt_no) and the partial UNIQUE "one pending or succeeded
   attempt per invoice" make the database refuse a second claim, so two overlapping runs cannot
   both go on. The claim commits before the gateway is called.
2. Charge: call the gateway with the attempt's idempotency key `inv-<invoice>-attempt-<n>`.
3. Record: lock the attempt, and only if it is still pending write the result (payment +
   allocation on success).
A worker killed between 2 and 3 leaves the attempt pending; the next run (or the retried task)
sends the same key again and the gateway answers with the first result instead of charging again.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing_site.audit import audit_record
from billing_site.errors import ValidationFailed
from billing_site.events import event_record, fields_of
from billing_site.money import round_money
from customers.models import Account
from invoicing.models import Invoice
from payments.gateway import GatewayError, gateway_for
from payments.models import Payment, PaymentAttempt, PaymentMethod, PaymentMethodKind, PaymentRun
from payments.selectors.balances import invoice_balance
from payments.services._common import lock_invoices

log = logging.getLogger(__name__)
DEFAULT_RETRY_DAYS = (3, 5, 7)


def retry_days() -> tuple[int, ...]:
    """Days after the first transient decline when the charge is tried again (setting PAYMENT_RETRY_DAYS)."""
    return tuple(getattr(settings, "PAYMENT_RETRY_DAYS", DEFAULT_RETRY_DAYS))


# -- payment methods --------------------------------------------------------------------------------


@transaction.atomic
def payment_method_add(
    *, account: Account, token: str, actor=None, gateway: str = "sandbox", brand: str = "", last4: str = "",
    exp_month: int | None = None, exp_year: int | None = None, is_autopay: bool = False,
) -> PaymentMethod:
    """Store a gateway token for an account (never a card number); optionally make it the autopay method."""
    token = (token or "").strip()
    errors = {}
    if not token:
        errors["token"] = [_("Enter the gateway token of the payment method.")]
    elif token.replace(" ", "").isdigit() and len(token.replace(" ", "")) >= 12:
        errors["token"] = [_("This looks like a card number: store the gateway token, never the card number.")]
    if last4 and (len(last4) != 4 or not last4.isdigit()):
        errors["last4"] = [_("Enter the last 4 digits.")]
    if exp_month is not None and not 1 <= exp_month <= 12:
        errors["exp_month"] = [_("Enter a month from 1 to 12.")]
    try:
        gateway_for(gateway)
    except GatewayError:
        errors["gateway"] = [_("Unknown payment gateway.")]
    if errors:
        raise ValidationFailed(fields=errors)
    if not brand and gateway == "sandbox":
        from payments.gateway.sandbox import SandboxGateway

        brand = SandboxGateway.brand(token)
    Account.objects.select_for_update().get(pk=account.pk)
    if is_autopay:
        PaymentMethod.objects.filter(account=account, is_autopay=True).update(is_autopay=False)
    method = PaymentMethod.objects.create(
        account=account, gateway=gateway, token=token, brand=brand, last4=last4, exp_month=exp_month,
        exp_year=exp_year, is_autopay=is_autopay,
    )
    audit_record(obj=account, action="payment_method_added", actor=actor, message=str(method),
                 data={"method": method.pk, "autopay": is_autopay})
    return method


@transaction.atomic
def payment_method_set_autopay(*, method: PaymentMethod, actor=None, autopay: bool = True) -> PaymentMethod:
    """Make this method the account's one autopay method (or stop autopay on it)."""
    Account.objects.select_for_update().get(pk=method.account_id)
    method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
    if autopay and not method.active:
        raise ValidationFailed(_("A removed payment method cannot be used for autopay."))
    if autopay:
        PaymentMethod.objects.filter(account_id=method.account_id, is_autopay=True).exclude(pk=method.pk).update(is_autopay=False)
    method.is_autopay = autopay
    method.save(update_fields=["is_autopay"])
    audit_record(obj=method.account, action="autopay_changed", actor=actor, message=str(method), to_state=str(autopay).lower())
    return method


@transaction.atomic
def payment_method_remove(*, method: PaymentMethod, actor=None) -> PaymentMethod:
    """Deactivate a stored method (kept for the history of its attempts)."""
    method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
    method.active = False
    method.is_autopay = False
    method.save(update_fields=["active", "is_autopay"])
    audit_record(obj=method.account, action="payment_method_removed", actor=actor, message=str(method))
    return method


# -- runs -------------------------------------------------------------------------------------------


def payment_run_start(*, today: dt.date, actor=None, trigger: str = PaymentRun.Trigger.MANUAL) -> PaymentRun:
    """Create a run (beat's run of a day is found again when its task is retried)."""
    if trigger == PaymentRun.Trigger.SCHEDULED:
        try:
            with transaction.atomic():
                run, _created = PaymentRun.objects.get_or_create(run_date=today, trigger=trigger)
        except IntegrityError:
            run = PaymentRun.objects.get(run_date=today, trigger=trigger)
        return run
    with transaction.atomic():
        run = PaymentRun.objects.create(run_date=today, trigger=trigger,
                                        created_by=actor if getattr(actor, "is_authenticated", False) else None)
        audit_record(obj=run, action="started", actor=actor, to_state=run.status)
    return run


def payment_run_candidates(*, today: dt.date) -> list[int]:
    """Invoices to try today: posted, due, still open, of accounts with an autopay method, with no
    charge in flight or done, and whose last decline (if any) is due for a retry or was on another method."""
    autopay = dict(PaymentMethod.objects.filter(is_autopay=True, active=True).values_list("account_id", "pk"))
    if not autopay:
        return []
    qs = Invoice.objects.filter(
        status=Invoice.Status.POSTED, account_id__in=autopay, due_date__lte=today, open_amount__gt=0
    ).exclude(
        payment_attempts__status__in=[PaymentAttempt.Status.PENDING, PaymentAttempt.Status.SUCCEEDED]
    ).order_by("due_date", "id")
    ids = list(qs.values_list("pk", "account_id"))
    last: dict[int, PaymentAttempt] = {}
    for attempt in PaymentAttempt.objects.filter(invoice_id__in=[i for i, _a in ids]).order_by("invoice_id", "attempt_no"):
        last[attempt.invoice_id] = attempt
    out = []
    for invoice_id, account_id in ids:
        latest = last.get(invoice_id)
        if latest is None or _may_retry(latest, today=today, method_id=autopay[account_id]):
            out.append(invoice_id)
    return out


def _may_retry(attempt: PaymentAttempt, *, today: dt.date, method_id: int) -> bool:
    if attempt.payment_method_id != method_id:
        return True  # the customer gave a new card: try it
    if attempt.status == PaymentAttempt.Status.DECLINED_TRANSIENT:
        return attempt.next_retry_on is not None and attempt.next_retry_on <= today
    return False


def payment_run_execute(*, run: PaymentRun, today: dt.date) -> PaymentRun:
    """Finish pending attempts left by a crash, then try every candidate invoice; safe to run twice."""
    for attempt in PaymentAttempt.objects.filter(status=PaymentAttempt.Status.PENDING).order_by("pk"):
        attempt_drive(attempt=attempt, today=today)
    for invoice_id in payment_run_candidates(today=today):
        claimed = attempt_claim(run=run, invoice_id=invoice_id, today=today)
        if claimed is not None:
            attempt_drive(attempt=claimed, today=today)
    return payment_run_finish(run=run)


def payment_run_finish(*, run: PaymentRun) -> PaymentRun:
    """Store the run's counts and collected totals from its attempts."""
    with transaction.atomic():
        run = PaymentRun.objects.select_for_update().get(pk=run.pk)
        counts = run.attempts.aggregate(
            total=Count("id"), ok=Count("id", filter=Q(status=PaymentAttempt.Status.SUCCEEDED)),
            declined=Count("id", filter=Q(status__in=[PaymentAttempt.Status.DECLINED_FINAL, PaymentAttempt.Status.DECLINED_TRANSIENT])),
        )
        collected = {
            row["currency"]: str(round_money(row["s"], row["currency"]))
            for row in run.attempts.filter(status=PaymentAttempt.Status.SUCCEEDED).values("currency").annotate(s=Sum("amount"))
        }
        previous = run.status
        run.attempts_count, run.succeeded_count, run.declined_count = counts["total"], counts["ok"], counts["declined"]
        run.collected = collected
        run.status = PaymentRun.Status.COMPLETED
        run.finished_at = timezone.now()
        run.save()
        audit_record(obj=run, action="finished", actor_label="payment run", from_state=previous, to_state=run.status,
                     data={"attempts": run.attempts_count, "succeeded": run.succeeded_count})
    return run


def attempt_claim(*, run: PaymentRun | None, invoice_id: int, today: dt.date) -> PaymentAttempt | None:
    """Claim the next attempt on an invoice (committed before any charge), or None if another run has it."""
    try:
        with transaction.atomic():
            invoices = lock_invoices([invoice_id])
            if not invoices:
                return None
            invoice = invoices[0]
            method = PaymentMethod.objects.filter(account_id=invoice.account_id, is_autopay=True, active=True).first()
            if method is None or invoice.status != Invoice.Status.POSTED:
                return None
            attempts = list(PaymentAttempt.objects.filter(invoice=invoice).order_by("attempt_no"))
            if any(a.status in (PaymentAttempt.Status.PENDING, PaymentAttempt.Status.SUCCEEDED) for a in attempts):
                return None
            if attempts and not _may_retry(attempts[-1], today=today, method_id=method.pk):
                return None
            amount = invoice_balance(invoice)
            if amount <= 0:
                return None
            number = (attempts[-1].attempt_no if attempts else 0) + 1
            attempt = PaymentAttempt.objects.create(
                run=run, account_id=invoice.account_id, invoice=invoice, payment_method=method, attempt_no=number,
                amount=amount, currency=invoice.currency, idempotency_key=f"inv-{invoice.pk}-attempt-{number}",
                attempted_on=today,
            )
            return attempt
    except IntegrityError:
        # Another run claimed this attempt between our read and our insert: the database said no.
        return None


def attempt_drive(*, attempt: PaymentAttempt, today: dt.date) -> PaymentAttempt:
    """Send a pending attempt to the gateway (same key every time) and record the result once."""
    method = attempt.payment_method
    try:
        result = gateway_for(method.gateway).charge(
            token=method.token, amount=round_money(attempt.amount, attempt.currency), currency=attempt.currency, idempotency_key=attempt.idempotency_key
        )
    except GatewayError:
        log.warning("gateway call failed for %s; the attempt stays pending", attempt.idempotency_key, exc_info=True)
        return attempt
    with transaction.atomic():
        invoice = lock_invoices([attempt.invoice_id])[0]
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.status != PaymentAttempt.Status.PENDING:
            return attempt  # another worker recorded it first
        attempt.gateway_transaction_id = result.transaction_id
        attempt.completed_at = timezone.now()
        if result.approved:
            attempt.status = PaymentAttempt.Status.SUCCEEDED
            attempt.payment = _record_charge(attempt=attempt, invoice=invoice, today=today)
        else:
            attempt.decline_code, attempt.message = result.code, result.message[:200]
            if result.transient:
                attempt.status = PaymentAttempt.Status.DECLINED_TRANSIENT
                attempt.next_retry_on = _next_retry(attempt)
            else:
                attempt.status = PaymentAttempt.Status.DECLINED_FINAL
        attempt.save()
        audit_record(obj=invoice, action="charge_" + attempt.status, actor_label="payment run",
                     message=f"{attempt.idempotency_key}: {attempt.decline_code or attempt.gateway_transaction_id}")
        if not result.approved:
            event_record(type="payment.failed", account_id=invoice.account_id, payload={
                **fields_of(attempt, "id", "status", "decline_code", "message", "next_retry_on"), "invoice_id": invoice.pk, "invoice_number": invoice.number})
    return attempt


def _next_retry(attempt: PaymentAttempt) -> dt.date | None:
    """Retries at first decline + each of PAYMENT_RETRY_DAYS (3, 5, 7), per payment method."""
    series = PaymentAttempt.objects.filter(invoice_id=attempt.invoice_id, payment_method_id=attempt.payment_method_id)
    first = series.order_by("attempt_no").values_list("attempted_on", flat=True).first() or attempt.attempted_on
    done = series.count() - 1  # retries already made in this series (the attempt itself included in count)
    days = retry_days()
    if done >= len(days):
        return None
    return first + dt.timedelta(days=days[done])


def _record_charge(*, attempt: PaymentAttempt, invoice: Invoice, today: dt.date) -> Payment:
    from payments.services.allocation import payment_allocate, payment_record

    payment = payment_record(
        account=invoice.account, amount=attempt.amount, currency=attempt.currency, received_date=attempt.attempted_on,
        method=PaymentMethodKind.CARD, today=max(today, attempt.attempted_on), reference=invoice.number or "",
        source=Payment.Source.GATEWAY, gateway_transaction_id=attempt.gateway_transaction_id,
        actor_name="payment run", notes=str(attempt.payment_method),
    )
    # The invoice may have been paid by hand meanwhile: what is left over stays unapplied credit.
    amount = min(payment.amount, invoice_balance(invoice))
    if amount > 0:
        payment_allocate(payment=payment, invoice=invoice, amount=amount, today=today, actor_name="payment run")
        payment.refresh_from_db()
    return payment


def invoice_charge_now(*, invoice: Invoice, today: dt.date, actor=None) -> PaymentAttempt:
    """Charge one invoice on its account's autopay method now (finance's "charge" button)."""
    attempt = attempt_claim(run=None, invoice_id=invoice.pk, today=today)
    if attempt is None:
        raise ValidationFailed(_("This invoice cannot be charged now: no autopay method, nothing open, or a charge is already in progress or done."))
    return attempt_drive(attempt=attempt, today=today)
