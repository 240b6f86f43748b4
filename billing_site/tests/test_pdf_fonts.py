"""The per-process cache of font subsets gives the PDF WeasyPrint makes without it, byte for byte,
for documents that use the same glyphs again and for documents that use other ones."""

from unittest import mock

from weasyprint.pdf.fonts import Font

from billing_site import pdf


def _render(text: str) -> bytes:
    html = f"<!DOCTYPE html><html><head><title>t</title></head><body><p>{text} <b>{text}</b></p></body></html>"
    return pdf.layout(html, minimal_ua=True).write_pdf()


def test_cached_font_subsets_give_the_same_pdfs():
    pdf._font_config()
    assert pdf._cache_font_subsets() is True
    assert Font.subset is pdf._cached_subset
    uncached = pdf._cached_subset.uncached
    texts = ["Invoice 0001", "Facture 0002 – échéance", "Invoice 0001", "ZZZ yyy", "Facture 0002 – échéance"]
    with mock.patch.object(Font, "subset", uncached):
        expected = [_render(text) for text in texts]
    assert len(set(expected)) == 3

    pdf._font_subsets.clear()
    with mock.patch.object(pdf._cached_subset, "uncached", side_effect=uncached) as subset:
        assert [_render(text) for text in texts] == expected
    # Regular and bold for each of the three glyph sets; the repeated documents came from the cache.
    assert subset.call_count == 6
    assert len(pdf._font_subsets) == 6


def test_the_cache_is_bounded():
    pdf._font_config()
    pdf._font_subsets.clear()
    with mock.patch.object(pdf, "FONT_SUBSETS_CACHED", 2):
        _render("abc")  # regular + bold: 2 entries
        _render("xyz")  # full: cleared, then 2 new ones
    assert len(pdf._font_subsets) == 2
