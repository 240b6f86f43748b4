"""PDF rendering with WeasyPrint: a template in a language → bytes. Called from Celery tasks.

High-volume documents (invoices, credit notes) pass `stylesheet=` (a CSS file found by the template
loaders, parsed once per process instead of once per document) and `minimal_ua=True` (a small
user-agent stylesheet instead of WeasyPrint's full HTML5 one). A template whose output is well-formed
XML (void elements closed with "/>", `<!DOCTYPE html>`) is parsed by expat instead of the pure-Python
HTML5 parser. `bench/pdf_profile.py` measures them.
"""

import copy
import gc
from functools import lru_cache
from xml.etree import ElementTree

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

# Only what lean documents use. WeasyPrint's HTML5 sheet has about 250 rules, matched against every
# element, and its universal ::marker/::footnote-*/::note-* rules give every element six more
# computed styles: about a fifth of the CPU time of a one-page invoice.
MINIMAL_UA_CSS = """
[hidden], head, meta, style, title, script, link, template { display: none }
html, body, div, p, h1, h2, h3, section, header, footer, address { display: block }
table { display: table; box-sizing: border-box; border-spacing: 2px; border-collapse: separate; text-indent: initial }
caption { display: table-caption }
colgroup { display: table-column-group }
col { display: table-column }
thead { display: table-header-group; vertical-align: middle }
tbody { display: table-row-group; vertical-align: middle }
tfoot { display: table-footer-group; vertical-align: middle }
tr { display: table-row; vertical-align: inherit }
td, th { display: table-cell; vertical-align: inherit; padding: 1px }
b, strong, th { font-weight: bold }
i, em { font-style: italic }
small { font-size: smaller }
body { margin: 8px }
p { margin: 1em 0 }
h1 { font-size: 2em; font-weight: bold; margin: .67em 0 }
h2 { font-size: 1.5em; font-weight: bold; margin: .83em 0 }
h3 { font-size: 1.17em; font-weight: bold; margin: 1em 0 }
br::before { content: "\\A"; white-space: pre-line }
@page { margin: 75px;
  @bottom-left { text-align: left; vertical-align: middle }
  @bottom-center { text-align: center; vertical-align: middle }
  @bottom-right { text-align: right; vertical-align: middle } }
"""

# Options for Document.write_pdf (kept in one place so bench/pdf_profile.py times the same thing).
WRITE_OPTIONS: dict = {}


@lru_cache(maxsize=1)
def _font_config():
    """One FontConfiguration per process: building it costs about a third of a small render."""
    from weasyprint.text.fonts import FontConfiguration

    _cache_font_subsets()
    return FontConfiguration()


FONT_SUBSETS_CACHED = 512
_font_subsets: dict = {}


@lru_cache(maxsize=1)
def _cache_font_subsets() -> bool:
    """Keep, per process, the fonts WeasyPrint subsets for each PDF (HarfBuzz cuts the embedded font
    down to the glyphs the document uses: 2–3 ms of a 12-line invoice). Documents of one template
    and one customer base use the same glyphs again and again, so the same subset is returned for the
    same font file and the same glyphs: the bytes WeasyPrint would have produced (test_pdf_fonts).

    Wraps `weasyprint.pdf.fonts.Font.subset(to_unicode, hinting)`; if an installed WeasyPrint has
    another signature, nothing is cached (same PDFs, a little slower)."""
    import inspect

    from weasyprint.pdf.fonts import Font

    if list(inspect.signature(Font.subset).parameters) != ["self", "to_unicode", "hinting"]:
        return False
    _cached_subset.uncached = Font.subset  # type: ignore[attr-defined]  # a function attribute keeps the original
    Font.subset = _cached_subset
    return True


def _cached_subset(font, to_unicode, hinting):
    content = font.file_content
    # The font file (its description's hash, face index, size and first bytes), the glyphs kept and
    # every other input of the subsetting.
    key = (font.hash, font.index, len(content), content[:512], tuple(sorted(to_unicode)), bool(hinting),
           tuple(sorted(font.missing.items())))
    if (cached := _font_subsets.get(key)) is not None:
        font.file_content = cached
        return
    _cached_subset.uncached(font, to_unicode, hinting)
    if len(_font_subsets) >= FONT_SUBSETS_CACHED:
        _font_subsets.clear()
    _font_subsets[key] = font.file_content


@lru_cache(maxsize=1)
def _minimal_html_class():
    from weasyprint import CSS, HTML

    user_agent = CSS(string=MINIMAL_UA_CSS)

    class MinimalHTML(HTML):
        def _ua_stylesheets(self, forms=False):
            return [user_agent]

    return MinimalHTML


@lru_cache(maxsize=2)
def _prototype(html_class):
    """An empty document: its URL fetcher and settings are shared by the documents parsed from XML."""
    return html_class(string="<html></html>", base_url=str(settings.BASE_DIR))


def _parse(html: str, html_class):
    """The WeasyPrint HTML document of `html`.

    Well-formed XML with an <html> root goes through expat (C): about 0.4 ms for an invoice instead
    of 6 ms with the HTML5 parser, for the same element tree. Anything else (a <br> without "/",
    an &nbsp;, a control character in some text) falls back to the HTML5 parser: same PDF, slower.
    """
    import cssselect2

    prototype = _prototype(html_class)
    try:
        root = ElementTree.fromstring(html)
    except ElementTree.ParseError:
        root = None
    if root is None or root.tag != "html":
        return html_class(string=html, base_url=prototype.base_url, url_fetcher=prototype.url_fetcher)
    document = copy.copy(prototype)
    document.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
    document.etree_element = document.wrapper_element.etree_element
    return document


def _parse_stylesheet(name: str):
    from weasyprint import CSS

    return CSS(string=render_to_string(name), base_url=str(settings.BASE_DIR), font_config=_font_config())


_cached_stylesheet = lru_cache(maxsize=16)(_parse_stylesheet)


def _stylesheet(name: str):
    """A CSS file from the template directories, parsed once per process (read again on each
    render with DEBUG, so edits show without a restart)."""
    return _parse_stylesheet(name) if settings.DEBUG else _cached_stylesheet(name)


def layout(html: str, *, stylesheet: str | None = None, minimal_ua: bool = False):
    """Parse, style and lay out an HTML string: the WeasyPrint Document, ready for write_pdf."""
    from weasyprint import HTML

    document = _parse(html, _minimal_html_class() if minimal_ua else HTML)
    stylesheets = [_stylesheet(stylesheet)] if stylesheet else None
    return document.render(font_config=_font_config(), stylesheets=stylesheets)


def warm_up(*, stylesheet: str | None = None, minimal_ua: bool = True) -> None:
    """Pay once, when a worker process starts, what its first document would: importing WeasyPrint,
    the font configuration, Pango's font map, the fonts in regular and bold, the stylesheet."""
    layout(
        '<!DOCTYPE html><html><head><title>-</title></head><body><p>0 <b>0</b></p><table><tr><td>0</td></tr></table>'
        "</body></html>",
        stylesheet=stylesheet, minimal_ua=minimal_ua,
    ).write_pdf(**WRITE_OPTIONS)


def render_pdf(
    *, template: str, context: dict, language: str = "en", stylesheet: str | None = None, minimal_ua: bool = False
) -> bytes:
    """Render `template` in `language` and return the PDF bytes (fonts and CSS from local files only).

    `stylesheet`: a CSS file name for the template loaders, parsed once per process and applied to
    the document. `minimal_ua`: use MINIMAL_UA_CSS as the user-agent stylesheet (the template then
    styles everything else it uses itself).
    """
    with translation.override(language):
        html = render_to_string(template, {**context, "LANGUAGE_CODE": language})
    # A render builds a large tree of live objects; letting the cyclic collector scan it again and
    # again mid-render is wasted work. Collect once afterwards, when the tree is garbage.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return layout(html, stylesheet=stylesheet, minimal_ua=minimal_ua).write_pdf(**WRITE_OPTIONS)
    finally:
        if collecting:
            gc.enable()
