"""PDF rendering with WeasyPrint: a template in a language → bytes. Called from Celery tasks."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation


def render_pdf(*, template: str, context: dict, language: str = "en") -> bytes:
    """Render `template` in `language` and return the PDF bytes (fonts and CSS from local files only)."""
    from weasyprint import HTML

    with translation.override(language):
        html = render_to_string(template, context)
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
