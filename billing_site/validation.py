"""Validation helpers every stage's services share: unknown fields and model validation as one error."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

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
