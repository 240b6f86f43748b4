"""PDF rendering with WeasyPrint: a template in a language → bytes. Called from Celery tasks."""

from functools import lru_cache

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation


@lru_cache(maxsize=1)
def _font_config():
    """One FontConfiguration per process: building it costs about a third of a small render."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def render_pdf(*, template: str, context: dict, language: str = "en") -> bytes:
    """Render `template` in `language` and return the PDF bytes (fonts and CSS from local files only)."""
    from weasyprint import HTML

    with translation.override(language):
        html = render_to_string(template, {**context, "LANGUAGE_CODE": language})
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(font_config=_font_config())
