"""Helpers shared by the catalog's services: validation, change tracking, audit values."""

from decimal import Decimal

from django.db import models

from billing_site.audit import audit_record
from billing_site.validation import (  # noqa: F401 - the catalog services import them from here
    check_fields,
    full_clean,
)


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
