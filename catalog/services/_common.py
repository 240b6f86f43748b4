"""Helpers shared by the catalog's services: validation, change tracking, audit values."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from billing_site.audit import audit_record
from billing_site.errors import ValidationFailed


def check_fields(data: dict, allowed) -> None:
    """Refuse keys a service does not know, so a typo in an API body is not silently ignored."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationFailed(fields={f: [_("Unknown field.")] for f in unknown})


def full_clean(obj: models.Model, *, exclude=None, extra: dict | None = None, validate_constraints: bool = True) -> None:
    """Run the model's validation; merge `extra` field errors so every problem is reported at once."""
    fields: dict[str, list[str]] = {}
    try:
        obj.full_clean(exclude=exclude, validate_constraints=validate_constraints)
    except ValidationError as exc:
        fields = {k: list(v) for k, v in exc.message_dict.items()}
    for key, messages in (extra or {}).items():
        fields.setdefault(key, []).extend(str(m) for m in messages)
    if fields:
        raise ValidationFailed(fields=fields)


def audit_value(value):
    if value is None:
        return None
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"  # plain notation: '10', not '1E+1'; '6.5', not '6.500000'

    if hasattr(value, "amount") and hasattr(value, "currency"):
        return f"{value.amount} {value.currency}"
    return str(value)


def apply_changes(obj: models.Model, data: dict) -> dict:
    """Set `data` on `obj`; return {field: [old, new]} for the fields that really changed."""
    changes = {}
    for field, value in data.items():
        before = getattr(obj, field)
        setattr(obj, field, value)
        if audit_value(before) != audit_value(getattr(obj, field)):
            changes[field] = [audit_value(before), audit_value(getattr(obj, field))]
    return changes


def audit_created(obj, *, actor, data: dict | None = None) -> None:
    audit_record(obj=obj, action="created", actor=actor, data=data or {})


def audit_updated(obj, *, actor, changes: dict) -> None:
    audit_record(obj=obj, action="updated", actor=actor, message=", ".join(sorted(changes)), data=changes)
