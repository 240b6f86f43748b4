"""The life of a quote: approval by finance, presentation, the customer's answer, expiry, new versions.

Transition table (each transition locks the quote row, re-checks its status and writes an audit row):

    draft      ── submit ──────────▶ in_review  (approval needed)  │ approved (no approval needed)
    in_review  ── approve ─────────▶ approved   (finance)
    in_review  ── reject_approval ─▶ draft      (finance, with a comment)
    approved   ── revise ──────────▶ draft      (to edit again: it will need approval again)
    approved   ── present ─────────▶ presented  (the PDF is rendered by the worker after commit)
    presented  ── accept ──────────▶ accepted   (the Contracts stage creates the order)
    presented  ── reject ──────────▶ rejected   (the customer said no)
    draft, in_review, approved, presented ── expire ──▶ expired   (the day after the expiration date)

Whether a quote needs approval is computed on submit, never taken from the caller: a line whose
discount (line and quote discounts together, against the list price) is above its product family's
threshold, an account on credit hold, or an account whose open balance plus this quote's total with
tax exceeds its credit limit. The open balance comes from the payments credit selector, which only
views may read (DESIGN §2), so the caller passes it in; the page and the API pass the same figure.
"""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import DomainError, InvalidTransition, ValidationFailed
from billing_site.events import event_record, fields_of
from billing_site.money import sum_money
from billing_site.roles import is_finance
from quotes.models import OPEN_STATUSES, Quote, QuoteLine
from quotes.services.building import DEFAULT_VALIDITY_DAYS, _recompute_totals, _require_owner

S = Quote.Status
# Products without a family need approval above the same threshold a new family gets.
DEFAULT_APPROVAL_DISCOUNT_PERCENT = Decimal("20")


class NotAllowed(DomainError):
    code = "forbidden"
    status_code = 403
    default_message = gettext_lazy("Your role does not allow this operation.")


def _lock(quote: Quote) -> Quote:
    return Quote.objects.select_for_update().select_related("account").get(pk=quote.pk)


def _check_from(quote: Quote, allowed: tuple, action_label: str) -> None:
    if quote.status not in allowed:
        raise InvalidTransition(
            _("Quote %(quote)s is %(status)s: it cannot be %(action)s.")
            % {"quote": quote, "status": quote.get_status_display().lower(), "action": action_label}
        )


def _move(quote: Quote, *, to: str, action: str, actor, message: str = "", data: dict | None = None, fields=()) -> Quote:
    before = quote.status
    quote.status = to
    quote.save(update_fields=["status", "updated_at", *fields])
    audit_record(obj=quote, action=action, actor=actor, from_state=before, to_state=to, message=message, data=data)
    if to in (S.APPROVED, S.ACCEPTED):
        event_record(type=f"quote.{to}", account_id=quote.account_id, payload=fields_of(quote, "id", "number", "version", "status", "currency"))
    return quote


def _require_finance(actor) -> None:
    if actor is not None and not is_finance(actor):
        raise NotAllowed(_("Only finance can approve or reject a quote's approval."))


def _require_other_person(quote: Quote, actor) -> None:
    # Separation of duties: nobody approves their own request, whatever their role (a finance user
    # who builds a quote with a 60 % discount needs another person to approve it).
    pk = getattr(actor, "pk", None)
    if pk is not None and pk in (quote.created_by_id, quote.submitted_by_id):
        raise NotAllowed(
            _("Separation of duties: whoever created or submitted a quote cannot approve it or send it back; ask another finance user."),
            code="separation_of_duties",
        )


def quote_approval_reasons(*, quote: Quote, open_balance: Decimal) -> list[dict]:
    """Why this quote needs finance approval (empty: it does not). Reasons are data; pages word them."""
    reasons = []
    for line in quote.lines.select_related("product__family").order_by("position", "id"):
        if line.charge_type == "usage":
            continue
        family = line.product.family
        threshold = family.approval_discount_percent if family else DEFAULT_APPROVAL_DISCOUNT_PERCENT
        if Fraction(line.effective_discount_percent) > Fraction(threshold):
            reasons.append(
                {
                    "code": "discount", "line": line.pk, "position": line.position, "product": line.product.name,
                    "discount": str(line.effective_discount_percent.quantize(Decimal("0.01"))),
                    "threshold": str(threshold), "family": family.name if family else "",
                }
            )
    account = quote.account
    if account.credit_hold:
        reasons.append({"code": "credit_hold"})
    limit = account.credit_limit_amount
    if limit and limit > 0:
        exposure = sum_money([open_balance, quote.total_contract_value, quote.tax_estimate], quote.currency)
        if exposure > limit:
            reasons.append(
                {
                    "code": "credit_limit", "open_balance": str(sum_money([open_balance], quote.currency)),
                    "exposure": str(exposure), "limit": str(sum_money([limit], quote.currency)),
                }
            )
    return reasons


@transaction.atomic
def quote_submit(*, quote: Quote, actor, open_balance: Decimal, today: dt.date | None = None) -> Quote:
    """Send a draft for approval, or approve it at once when nothing needs finance's eyes."""
    today = today or clock.today()
    quote = _lock(quote)
    _require_owner(quote, actor)
    _check_from(quote, (S.DRAFT,), _("submitted"))
    if not quote.lines.exists():
        raise ValidationFailed(_("Add at least one line before submitting the quote."))
    if quote.expiration_date < today:
        raise ValidationFailed(
            fields={"expiration_date": [_("The quote expired on %(date)s: move the expiration date before submitting.") % {"date": quote.expiration_date}]}
        )
    _recompute_totals(quote)
    reasons = quote_approval_reasons(quote=quote, open_balance=open_balance)
    quote.approval_required = bool(reasons)
    quote.approval_reasons = reasons
    quote.submitted_at = clock.now()
    quote.submitted_by = actor if getattr(actor, "is_authenticated", False) else None
    quote.approved_by = None
    quote.approved_at = None
    quote.approval_comment = ""
    fields = ["approval_required", "approval_reasons", "submitted_at", "submitted_by", "approved_by", "approved_at", "approval_comment"]
    if reasons:
        return _move(quote, to=S.IN_REVIEW, action="submitted", actor=actor, data={"reasons": reasons}, fields=fields)
    return _move(
        quote, to=S.APPROVED, action="submitted", actor=actor, message=_("No approval needed."), fields=fields,
    )


@transaction.atomic
def quote_approve(*, quote: Quote, actor, comment: str = "") -> Quote:
    """Finance approves a quote in review."""
    _require_finance(actor)
    quote = _lock(quote)
    _check_from(quote, (S.IN_REVIEW,), _("approved"))
    _require_other_person(quote, actor)
    quote.approved_by = actor if getattr(actor, "is_authenticated", False) else None
    quote.approved_at = clock.now()
    quote.approval_comment = comment.strip()
    return _move(
        quote, to=S.APPROVED, action="approved", actor=actor, message=quote.approval_comment,
        fields=["approved_by", "approved_at", "approval_comment"],
    )


@transaction.atomic
def quote_reject_approval(*, quote: Quote, actor, comment: str) -> Quote:
    """Finance sends a quote in review back to draft, saying why."""
    _require_finance(actor)
    if not (comment or "").strip():
        raise ValidationFailed(fields={"comment": [_("Say why the approval is rejected: the rep will read it.")]})
    quote = _lock(quote)
    _check_from(quote, (S.IN_REVIEW,), _("sent back"))
    _require_other_person(quote, actor)
    quote.approval_comment = comment.strip()
    return _move(
        quote, to=S.DRAFT, action="approval_rejected", actor=actor, message=quote.approval_comment,
        fields=["approval_comment"],
    )


@transaction.atomic
def quote_revise(*, quote: Quote, actor) -> Quote:
    """Take an approved quote back to draft to change it; it will be checked for approval again."""
    quote = _lock(quote)
    _require_owner(quote, actor)
    _check_from(quote, (S.APPROVED,), _("revised"))
    quote.approved_by = None
    quote.approved_at = None
    return _move(quote, to=S.DRAFT, action="revised", actor=actor, fields=["approved_by", "approved_at"])


@transaction.atomic
def quote_present(*, quote: Quote, actor, today: dt.date | None = None) -> Quote:
    """Present an approved quote to the customer; the worker renders its PDF after commit."""
    today = today or clock.today()
    quote = _lock(quote)
    _check_from(quote, (S.APPROVED,), _("presented"))
    if quote.expiration_date < today:
        raise InvalidTransition(_("The quote expired on %(date)s: clone it to make a new version.") % {"date": quote.expiration_date})
    if quote.account.credit_hold and quote.approved_by_id is None:
        raise InvalidTransition(
            _("The account was put on credit hold after this quote was approved: revise it and submit it again for finance approval.")
        )
    quote.presented_at = clock.now()
    quote.pdf_rendered_at = None
    _move(quote, to=S.PRESENTED, action="presented", actor=actor, fields=["presented_at", "pdf_rendered_at"])
    quote_id = quote.pk

    def enqueue():
        from quotes.tasks import quote_render_pdf

        quote_render_pdf.delay(quote_id)

    transaction.on_commit(enqueue)
    return quote


@transaction.atomic
def quote_accept(*, quote: Quote, actor, today: dt.date | None = None) -> Quote:
    """Record the customer's acceptance of a presented quote (accepting it again changes nothing)."""
    today = today or clock.today()
    quote = _lock(quote)
    if quote.status == S.ACCEPTED:
        return quote
    _check_from(quote, (S.PRESENTED,), _("accepted"))
    if quote.expiration_date < today:
        raise InvalidTransition(_("The quote expired on %(date)s: clone it to make a new version.") % {"date": quote.expiration_date})
    quote.decided_at = clock.now()
    return _move(quote, to=S.ACCEPTED, action="accepted", actor=actor, fields=["decided_at"])


@transaction.atomic
def quote_reject(*, quote: Quote, actor, comment: str = "") -> Quote:
    """Record that the customer turned the quote down."""
    quote = _lock(quote)
    _check_from(quote, (S.PRESENTED,), _("rejected"))
    quote.decided_at = clock.now()
    quote.decision_comment = (comment or "").strip()
    return _move(
        quote, to=S.REJECTED, action="rejected", actor=actor, message=quote.decision_comment,
        fields=["decided_at", "decision_comment"],
    )


@transaction.atomic
def quote_expire(*, quote: Quote, today: dt.date, actor=None, actor_label: str = "quotes_expire") -> bool:
    """Expire one open quote past its expiration date; False when it is not (or no longer) due."""
    quote = _lock(quote)
    if quote.status not in OPEN_STATUSES or quote.expiration_date >= today:
        return False
    before = quote.status
    quote.status = S.EXPIRED
    quote.save(update_fields=["status", "updated_at"])
    audit_record(
        obj=quote, action="expired", actor=actor, actor_label=actor_label, from_state=before, to_state=S.EXPIRED,
        message=_("Expired on %(date)s.") % {"date": quote.expiration_date},
    )
    return True


def quotes_expire_due(*, today: dt.date) -> int:
    """Expire every open quote whose expiration date is before `today`; safe to run twice."""
    due = Quote.objects.filter(status__in=OPEN_STATUSES, expiration_date__lt=today).values_list("pk", flat=True)
    return sum(1 for pk in list(due) if quote_expire(quote=Quote(pk=pk), today=today))


@transaction.atomic
def quote_clone(*, quote: Quote, actor, today: dt.date | None = None) -> Quote:
    """A new draft version of a quote with the same number, lines and snapshotted prices."""
    today = today or clock.today()
    # Every clone of a number locks its first version, then reads the highest version in a new
    # statement: under READ COMMITTED that statement sees a version another clone just committed.
    source = Quote.objects.get(pk=quote.pk)
    Quote.objects.select_for_update().filter(number=source.number).order_by("version").values_list("pk", flat=True).first()
    last_version = Quote.objects.filter(number=source.number).aggregate(last=Max("version"))["last"]
    expiration = source.expiration_date
    if expiration < today:
        expiration = today + dt.timedelta(days=DEFAULT_VALIDITY_DAYS)
    clone = Quote.objects.create(
        number=source.number, version=last_version + 1, cloned_from=source, account=source.account,
        price_book=source.price_book, legal_entity=source.legal_entity, currency=source.currency,
        start_date=source.start_date, term_months=source.term_months, expiration_date=expiration,
        payment_terms_days=source.payment_terms_days, quote_discount_percent=source.quote_discount_percent,
        notes=source.notes, created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    copied = [
        "position", "product_id", "quantity", "list_unit_price", "discount_percent", "discount_amount", "net_unit_price",
        "price_term_months", "pricing_snapshot", "start_date", "end_date", "prorate_numerator", "prorate_denominator",
        "line_total", "effective_discount_percent", "tax_rate_percent", "tax_label", "tax_amount",
    ]
    QuoteLine.objects.bulk_create(
        [QuoteLine(quote=clone, **{f: getattr(line, f) for f in copied}) for line in source.lines.order_by("position", "id")]
    )
    _recompute_totals(clone)
    audit_record(obj=clone, action="created", actor=actor, to_state=clone.status, message=_("Cloned from %(quote)s.") % {"quote": source})
    audit_record(obj=source, action="cloned", actor=actor, message=str(clone), data={"clone": clone.pk})
    return clone
