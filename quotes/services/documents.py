"""The quote PDF: rendered by the worker once a quote is presented, in the account's language."""

from django.core.files.base import ContentFile
from django.db import transaction

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.pdf import render_pdf
from quotes.models import Quote


def quote_pdf_context(*, quote: Quote) -> dict:
    """What the PDF template shows: the legal entity's branding, lines, totals and terms."""
    from quotes.selectors import quote_lines_display

    return {
        "quote": quote, "account": quote.account, "entity": quote.legal_entity,
        "lines": quote_lines_display(quote=quote, with_breakdown=False), "LANGUAGE_CODE": quote.account.language or "en",
    }


def quote_render_pdf(*, quote_id: int) -> Quote:
    """Render and store the PDF of a presented (or later) quote; running it twice renders it again."""
    quote = Quote.objects.select_related("account", "legal_entity", "price_book").get(pk=quote_id)
    language = quote.account.language or "en"
    content = render_pdf(template="quotes/quote_pdf.html", context=quote_pdf_context(quote=quote), language=language)
    name = f"{quote.number}-v{quote.version}.pdf"
    with transaction.atomic():
        quote = Quote.objects.select_for_update().get(pk=quote_id)
        old = quote.pdf.name if quote.pdf else ""
        quote.pdf.save(name, ContentFile(content), save=False)
        quote.pdf_rendered_at = clock.now()
        quote.save(update_fields=["pdf", "pdf_rendered_at", "updated_at"])
        audit_record(obj=quote, action="pdf_rendered", actor=None, actor_label="worker", message=quote.pdf.name or "")
    if old and old != quote.pdf.name:
        quote.pdf.storage.delete(old)
    return quote
