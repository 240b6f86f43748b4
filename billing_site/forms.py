"""Helpers shared by every form view."""

from django import forms

from billing_site.errors import DomainError

ISO_DATE = "%Y-%m-%d"


class DateInput(forms.DateInput):
    """A browser date picker. It always exchanges ISO dates (2026-11-30), whatever the language:
    given a French "30/11/2026" the browser drops the value and the field comes back blank."""

    input_type = "date"

    def __init__(self, attrs=None, format=ISO_DATE):
        super().__init__(attrs, format=format)


_localized = False


def localize_number_fields() -> None:
    """Every form number field reads and shows numbers the user's way: "12,5" in French.

    Django parses locale decimals only in fields built with `localize=True`; making that the
    default here covers every form and filter of every app (the API keeps plain JSON numbers). A
    localized field renders as a text input (a browser's number input refuses "12,5"), so the
    keyboard hint is set instead.
    """
    global _localized
    if _localized:
        return
    _localized = True
    original = forms.IntegerField.__init__

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("localize", True)
        original(self, *args, **kwargs)
        if self.localize and not self.widget.is_hidden:
            self.widget.attrs.setdefault("inputmode", "numeric" if type(self) is forms.IntegerField else "decimal")

    forms.IntegerField.__init__ = __init__  # type: ignore[method-assign]  # the deliberate, project-wide patch


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
