"""What page views share when they run a service: a refusal becomes one error message.

    @role_required(FINANCE_ADMIN)
    @require_POST
    def credit_note_post(request, pk):
        note = get_object_or_404(CreditNote, pk=pk)
        with refusal_as_message(request) as outcome:
            services.credit_note_post(credit_note=note, actor=request.user)
            messages.success(request, ...)
        return redirect(...)   # `outcome.refused` tells a page that goes elsewhere on refusal

Forms keep theirs: `billing_site.forms.form_add_domain_error` puts a refusal beside the fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest

from billing_site.errors import DomainError, ValidationFailed


def refusal_text(exc: DomainError) -> str:
    """The reason on one line: the service's message, then its field messages (the generic
    "Some fields are invalid." gives way to them, as in the API's error message)."""
    reasons = [m for msgs in exc.fields.values() for m in msgs]
    message = str(exc.message)
    if reasons and message == str(ValidationFailed.default_message):
        return " ".join(reasons)
    return " ".join([message, *reasons]).strip()


@dataclass
class Outcome:
    refused: bool = False


@contextmanager
def refusal_as_message(request: HttpRequest) -> Iterator[Outcome]:
    """Run the block; a DomainError it raises stops it and becomes an error message for the page."""
    outcome = Outcome()
    try:
        yield outcome
    except DomainError as exc:
        outcome.refused = True
        messages.error(request, refusal_text(exc))
