"""Domain errors. Services raise them; views show them as messages and the API as its error format."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A business rule refused the operation. `fields` maps a field name to its messages."""

    code = "domain_error"
    status_code = 400
    default_message = _("The operation was refused.")

    def __init__(self, message=None, *, fields: dict | None = None, code: str | None = None):
        self.message = message if message is not None else self.default_message
        self.fields = {k: [str(m) for m in (v if isinstance(v, list | tuple) else [v])] for k, v in (fields or {}).items()}
        if code:
            self.code = code
        super().__init__(str(self.message))

    def __str__(self) -> str:
        return str(self.message)


class ValidationFailed(DomainError):
    code = "invalid"
    default_message = _("Some fields are invalid.")


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status_code = 409
    default_message = _("This change of status is not allowed.")


class NotFound(DomainError):
    code = "not_found"
    status_code = 404
    default_message = _("Not found.")


class Conflict(DomainError):
    code = "conflict"
    status_code = 409
    default_message = _("The operation conflicts with the current state.")


class Immutable(DomainError):
    code = "immutable"
    status_code = 409
    default_message = _("Posted documents cannot be changed.")


class Forbidden(DomainError):
    """The actor's role or ownership does not allow this change (HTTP 403 on the API)."""

    code = "forbidden"
    status_code = 403
    default_message = _("Your role does not allow this operation.")
