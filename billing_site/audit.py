"""Writing the audit log. Every state change of a document goes through `audit_record`."""

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import pgettext_lazy

from billing_site.models import AuditLog


def audit_record(
    *,
    obj: models.Model,
    action: str,
    actor=None,
    actor_label: str = "",
    from_state: str = "",
    to_state: str = "",
    message: str = "",
    data: dict | None = None,
    note: dict | None = None,
) -> AuditLog:
    """Append one audit row for a change of `obj` (call inside the transaction that changes it).

    `note` (from `audit_note`) is shown in the reader's language; `message` is then its text in
    the writer's."""
    if note is not None:
        data = {**(data or {}), "note": note}
        message = message or render_note(note)
    user = actor if getattr(actor, "is_authenticated", False) else None
    label = actor_label or (user.get_username() if user else "system")
    return AuditLog.objects.create(
        actor=user,
        actor_label=label[:150],
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        action=action,
        from_state=str(from_state or ""),
        to_state=str(to_state or ""),
        message=message,
        data=data or {},
    )


def audit_history(obj: models.Model):
    """The audit rows of one object, newest first."""
    return AuditLog.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).select_related("actor")


# --- notes written in the reader's language ---------------------------------------------------------
#
# A note is stored twice: as text in the writer's language (`message`, kept for the API and old
# readers) and as its English message id with typed parameters (`data["note"]`), so the activity log
# shows it in the reader's language with money and quantities formatted for them. Callers mark the
# message id with gettext_noop so that it is extracted into their app's catalog.


def money_param(amount, currency: str) -> dict:
    return {"money": str(amount), "currency": currency}


def number_param(value) -> dict:
    return {"number": str(value)}


def choice_param(model: type[models.Model], field: str, value: str) -> dict:
    """A choice of a model field, shown as its translated label ("Bank transfer", "Virement")."""
    return {"choice": str(value), "model": model._meta.label_lower, "field": field}


def fields_param(model: type[models.Model], names) -> dict:
    """Field names of a model, shown as their (translated) verbose names."""
    return {"fields": list(names), "model": model._meta.label_lower}


def audit_note(msgid: str, **params) -> dict:
    """A note for `audit_record(note=…)`: `msgid` (English, with %(name)s placeholders) and its parameters."""
    return {"msgid": str(msgid), "params": {k: v if isinstance(v, dict) else str(v) for k, v in params.items()}}


def _field_labels(model_label: str, names) -> str:
    from django.apps import apps
    from django.utils.text import capfirst

    try:
        model = apps.get_model(model_label)
    except (LookupError, ValueError):
        model = None
    labels = []
    for name in names:
        try:
            labels.append(str(capfirst(model._meta.get_field(name).verbose_name)) if model else name)
        except FieldDoesNotExist:
            labels.append(name.replace("_", " ").capitalize())
    return ", ".join(labels)


def _render_param(value) -> str:
    from django.utils import translation

    from billing_site import money

    if not isinstance(value, dict):
        return str(value)
    language = translation.get_language()
    if "money" in value:
        return money.format_money(money.to_decimal(value["money"]), value["currency"], language)
    if "number" in value:
        number = money.round_unit(money.to_decimal(value["number"])).normalize()
        exponent = number.as_tuple().exponent
        return money.format_number(number, language, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
    if "choice" in value:
        from django.apps import apps

        try:
            choices = dict(apps.get_model(value["model"])._meta.get_field(value["field"]).flatchoices)
        except (LookupError, ValueError, FieldDoesNotExist):
            choices = {}
        return str(choices.get(value["choice"], value["choice"]))
    if "fields" in value:
        return _field_labels(value["model"], value["fields"])
    return str(value)


def render_note(note: dict) -> str:
    """A stored note in the active language."""
    from django.utils.translation import gettext

    params = {k: _render_param(v) for k, v in (note.get("params") or {}).items()}
    try:
        return gettext(note["msgid"]) % params
    except (KeyError, TypeError, ValueError):
        return note.get("msgid", "")


# --- the activity log, readable -------------------------------------------------------------------

ACTIONS = {
    "created": pgettext_lazy("activity", "Created"), "updated": pgettext_lazy("activity", "Updated"), "deleted": pgettext_lazy("activity", "Deleted"), "posted": pgettext_lazy("activity", "Posted"),
    "cancelled": pgettext_lazy("activity", "Cancelled"), "activated": pgettext_lazy("activity", "Activated"), "submitted": pgettext_lazy("activity", "Submitted for approval"),
    "approved": pgettext_lazy("activity", "Approved"), "rejected": pgettext_lazy("activity", "Rejected"), "approval_rejected": pgettext_lazy("activity", "Approval rejected"),
    "presented": pgettext_lazy("activity", "Presented"), "accepted": pgettext_lazy("activity", "Accepted"), "expired": pgettext_lazy("activity", "Expired"), "revised": pgettext_lazy("activity", "Revised"),
    "cloned": pgettext_lazy("activity", "Cloned"), "discarded": pgettext_lazy("activity", "Discarded"), "started": pgettext_lazy("activity", "Started"), "finished": pgettext_lazy("activity", "Finished"),
    "resumed": pgettext_lazy("activity", "Resumed"), "status_changed": pgettext_lazy("activity", "Status changed"), "refunded": pgettext_lazy("activity", "Refunded"),
    "recorded": pgettext_lazy("activity", "Payment recorded"), "allocated": pgettext_lazy("activity", "Allocated"), "unallocated": pgettext_lazy("activity", "Allocation taken back"),
    "payment_allocated": pgettext_lazy("activity", "Payment allocated"), "payment_unallocated": pgettext_lazy("activity", "Payment allocation taken back"),
    "line_added": pgettext_lazy("activity", "Line added"), "line_changed": pgettext_lazy("activity", "Line changed"), "line_removed": pgettext_lazy("activity", "Line removed"),
    "product_added": pgettext_lazy("activity", "Product added"), "product_removed": pgettext_lazy("activity", "Product removed"),
    "price_added": pgettext_lazy("activity", "Price added"), "price_changed": pgettext_lazy("activity", "Price changed"), "amended": pgettext_lazy("activity", "Amended"),
    "renewed": pgettext_lazy("activity", "Renewed"), "renewal_quoted": pgettext_lazy("activity", "Renewal quoted"), "schedule_unbilled": pgettext_lazy("activity", "Periods back to bill"),
    "usage_imported": pgettext_lazy("activity", "Usage imported"), "imported": pgettext_lazy("activity", "Imported"), "sent": pgettext_lazy("activity", "Sent by email"),
    "pdf_rendered": pgettext_lazy("activity", "PDF rendered"), "contact_added": pgettext_lazy("activity", "Contact added"), "contact_updated": pgettext_lazy("activity", "Contact changed"),
    "contact_removed": pgettext_lazy("activity", "Contact removed"), "credit_hold_changed": pgettext_lazy("activity", "Credit hold changed"),
    "payment_method_added": pgettext_lazy("activity", "Payment method added"), "payment_method_removed": pgettext_lazy("activity", "Payment method removed"),
    "autopay_changed": pgettext_lazy("activity", "Autopay changed"), "dunning_sent": pgettext_lazy("activity", "Reminder sent"),
    "dunning_skipped": pgettext_lazy("activity", "Reminder skipped"), "dunning_no_email": pgettext_lazy("activity", "Reminder not sent: no billing email"),
    "charge_succeeded": pgettext_lazy("activity", "Card charged"), "charge_pending": pgettext_lazy("activity", "Card charge in progress"),
    "charge_declined_transient": pgettext_lazy("activity", "Card declined (will retry)"), "charge_declined_final": pgettext_lazy("activity", "Card declined"),
    "matched": pgettext_lazy("activity", "Matched"), "ignored": pgettext_lazy("activity", "Ignored"),
}
# Jobs that act without a user, as audit rows name them.
JOBS = {
    "system": pgettext_lazy("activity", "System"), "worker": pgettext_lazy("activity", "Background worker"), "dunning": pgettext_lazy("activity", "Dunning"),
    "payment run": pgettext_lazy("activity", "Payment run"), "scheduler": pgettext_lazy("activity", "Scheduler"), "gateway": pgettext_lazy("activity", "Payment gateway"),
}
STATES = {"true": pgettext_lazy("activity", "yes"), "false": pgettext_lazy("activity", "no"), "received": pgettext_lazy("activity", "received")}


def action_label(code: str) -> str:
    label = ACTIONS.get(code)
    return str(label) if label is not None else code.replace("_", " ").capitalize()


def actor_name(row: AuditLog) -> str:
    """A user's full name (their user name when they have none), or the job that acted."""
    if row.actor_id and row.actor is not None:
        return row.actor.get_full_name() or row.actor.get_username()
    job = JOBS.get(row.actor_label)
    return str(job) if job is not None else row.actor_label


def state_label(row: AuditLog, value: str) -> str:
    """A state as its object's status label ("Posted", "Comptabilisée"), else the raw value."""
    if not value:
        return ""
    from django.apps import apps

    try:
        model = apps.get_model(row.object_type)
        choices = dict(model._meta.get_field("status").flatchoices)
    except (LookupError, ValueError, FieldDoesNotExist):
        choices = {}
    label = choices.get(value) or STATES.get(value)
    return str(label) if label is not None else value


def note_text(row: AuditLog) -> str:
    """The note in the reader's language: re-rendered when typed, field names labelled on updates."""
    data = row.data if isinstance(row.data, dict) else {}
    if isinstance(data.get("note"), dict):
        return render_note(data["note"])
    if row.action == "updated" and data and row.message == ", ".join(sorted(data)):
        return _field_labels(row.object_type, sorted(data))
    return row.message
