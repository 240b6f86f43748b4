"""Helpers shared by every form view."""

from billing_site.errors import DomainError


def form_add_domain_error(form, error: DomainError) -> None:
    """Show a service's refusal next to the fields it names, or at the top of the form."""
    placed = False
    for field, messages in error.fields.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)
            placed = True
    if not placed or (error.message and not error.fields):
        form.add_error(None, str(error.message))
