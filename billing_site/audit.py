"""Writing the audit log. Every state change of a document goes through `audit_record`."""

from django.db import models

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
) -> AuditLog:
    """Append one audit row for a change of `obj` (call inside the transaction that changes it)."""
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
