"""PDFs and emails of posted documents, rendered in the worker from the frozen snapshot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache, partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import formats, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.countries import EU_COUNTRIES
from billing_site.money import format_money, sum_money
from billing_site.pdf import render_pdf
from billing_site.templatetags.recur import lastday, moneyfmt, numfmt
from customers.models import Contact
from invoicing.models import CreditNote, Invoice


def documents_deliver_later(*, invoice_ids: Iterable[int] = (), credit_note_ids: Iterable[int] = ()) -> None:
    """After commit: render and send these posted documents in the worker."""
    from invoicing import tasks

    invoice_ids, credit_note_ids = list(invoice_ids), list(credit_note_ids)
    if invoice_ids or credit_note_ids:
        transaction.on_commit(lambda: tasks.documents_deliver.delay(invoice_ids, credit_note_ids))


PDF_TEMPLATE = "invoicing/pdf/document.html"
PDF_STYLESHEET = "invoicing/pdf/document.css"


def _tax_rates(lines, currency: str) -> list[dict]:
    """Net and tax per tax rate (and its label), highest rate first: sums of the lines' rounded amounts."""
    groups: dict[tuple, list] = {}
    for line in lines:
        groups.setdefault((line.tax_rate_percent, line.tax_label), []).append(line)
    return [
        {
            "rate": rate,
            "label": label,
            "net": sum_money((line.net_amount for line in group), currency),
            "tax": sum_money((line.tax_amount for line in group), currency),
        }
        for (rate, label), group in sorted(groups.items(), key=lambda item: (-item[0][0], item[0][1]))
    ]


def _decimal(value) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None


def legal_mentions(snapshot: dict, *, tax_amount) -> dict:
    """The legal mentions a document prints, from its frozen snapshot (pure: no database).

    `tax_note`: "exempt" for a tax-exempt customer; "reverse_charge" for an untaxed sale to a
    business of another EU country identified by its VAT number (the customer self-assesses the VAT:
    CGI art. 283-2, directive 2006/112/EC art. 196); "" otherwise.
    """
    entity, account = snapshot.get("legal_entity", {}), snapshot.get("account", {})
    seller, buyer = entity.get("country", ""), account.get("country", "")
    tax_note = ""
    if account.get("tax_exempt"):
        tax_note = "exempt"
    elif (not tax_amount and account.get("tax_id") and seller != buyer
          and seller in EU_COUNTRIES and buyer in EU_COUNTRIES):
        tax_note = "reverse_charge"
    return {
        "legal_form": entity.get("legal_form", ""),
        "share_capital": _decimal(entity.get("share_capital_amount")),
        "registration": entity.get("registration", ""),
        "late_rate": _decimal(entity.get("late_payment_rate_percent")),
        "indemnity": _decimal(entity.get("recovery_indemnity_amount")),
        "currency": entity.get("currency", ""),
        "mentions": entity.get("legal_mentions", ""),
        "tax_note": tax_note,
        "french_seller": seller == "FR",
    }


@lru_cache(maxsize=16384)
def _printed(kind: str, value: str, currency: str, language: str) -> str:
    """An amount, number or date as the PDF prints it (the template filters' own output), cached per
    process: an invoice run prints the same prices, rates and periods thousands of times, and
    formatting them per locale is about half of the template's time."""
    with translation.override(language):
        if kind == "money":
            return moneyfmt(Decimal(value), currency)
        if kind == "number":
            return numfmt(Decimal(value))
        day = dt.date.fromisoformat(value)
        return lastday(day) if kind == "lastday" else formats.date_format(day, "SHORT_DATE_FORMAT")


def _line_rows(lines, currency: str, language: str) -> list[dict]:
    """Each line's cells, formatted as the template's filters would."""
    rows = []
    for line in lines:
        period = ""
        if line.period_start:
            period = (f"{_printed('date', line.period_start.isoformat(), '', language)} – "
                      f"{_printed('lastday', line.period_end.isoformat(), '', language) if line.period_end else ''}")
        rows.append({
            "description": line.description,
            "period": period,
            "quantity": _printed("number", str(line.quantity), "", language),
            "unit_price": _printed("money", str(line.unit_price), currency, language),
            "factor": line.factor_display,
            "net": _printed("money", str(line.net_amount), currency, language),
            "rate": _printed("number", str(line.tax_rate_percent), "", language),
            "tax": _printed("money", str(line.tax_amount), currency, language),
            "total": _printed("money", str(line.total_amount), currency, language),
        })
    return rows


def _document_context(document) -> dict:
    is_invoice = isinstance(document, Invoice)
    lines = list(document.lines.all())
    return {
        "doc": document,
        "is_invoice": is_invoice,
        "snap": document.snapshot,
        "lines": lines,
        "rows": _line_rows(lines, document.currency, document.language or "en"),
        "tax_rates": _tax_rates(lines, document.currency),
        # The field's own (translated) name: "Tax rate (%)".
        "rate_header": capfirst(document.lines.model._meta.get_field("tax_rate_percent").verbose_name),
        "invoice": document.invoice if not is_invoice else None,
        "legal": legal_mentions(document.snapshot, tax_amount=document.tax_amount),
    }


def document_pdf_bytes(document) -> bytes:
    """The PDF of a posted invoice or credit note, in the account's language, from its snapshot."""
    return render_pdf(
        template=PDF_TEMPLATE, context=_document_context(document), language=document.language or "en",
        stylesheet=PDF_STYLESHEET, minimal_ua=True,
    )


def document_render_pdf(*, document) -> None:
    """Render and store the PDF (again, if it has one: only the file field changes, posted documents
    are frozen)."""
    if document.status == document.Status.DRAFT:
        return
    _store_pdf(document, document_pdf_bytes(document), replace=True)


def _store_pdf(document, content: bytes, *, replace: bool) -> bool:
    """Write the file and point the document at it. Without `replace` the pointer is taken with a
    conditional UPDATE (`pdf` still empty): of two workers rendering the same document at once,
    one stores it and the other deletes its file. True when this call stored it."""
    model = type(document)
    document.pdf.save(f"{document.number}.pdf", ContentFile(content), save=False)
    rows = model.objects.filter(pk=document.pk)
    if replace:
        rows.update(pdf=document.pdf.name)
        return True
    if rows.filter(pdf="").update(pdf=document.pdf.name):
        return True
    document.pdf.storage.delete(document.pdf.name)
    document.pdf.name = model.objects.filter(pk=document.pk).values_list("pdf", flat=True).first()
    return False


# Documents per rendering task: big enough that a task's fixed costs (a message, two queries)
# vanish, small enough that a retried or redelivered task redoes little.
PDF_BATCH_SIZE = 100


def documents_render_pdfs(*, invoice_ids=(), credit_note_ids=()) -> int:
    """Render and store the PDFs these posted documents do not have yet, in one pass: one query per
    document type for the documents and one for all their lines, then one render each (fonts, CSS
    and templates are already loaded in the process). Drafts and documents that have a PDF are
    skipped, so a task delivered twice stores each PDF once. Returns how many were stored."""
    stored = 0
    for queryset in (
        Invoice.objects.filter(pk__in=list(invoice_ids)),
        CreditNote.objects.filter(pk__in=list(credit_note_ids)).select_related("invoice"),
    ):
        documents = (queryset.exclude(status=queryset.model.Status.DRAFT).filter(pdf="")
                     .prefetch_related("lines").order_by("pk"))
        for document in documents.iterator(chunk_size=PDF_BATCH_SIZE):
            stored += _store_pdf(document, document_pdf_bytes(document), replace=False)
    return stored


def documents_render_later(*, invoice_ids=(), credit_note_ids=(), batch_size: int = PDF_BATCH_SIZE) -> None:
    """After commit: render these documents' PDFs in the workers, `batch_size` documents a task."""
    from invoicing import tasks

    invoice_ids, credit_note_ids = list(invoice_ids), list(credit_note_ids)
    batches: list[tuple[list[int], list[int]]] = [(invoice_ids[i:i + batch_size], []) for i in range(0, len(invoice_ids), batch_size)]
    batches += [([], credit_note_ids[i:i + batch_size]) for i in range(0, len(credit_note_ids), batch_size)]
    for invoices, notes in batches:
        transaction.on_commit(partial(tasks.documents_render_pdfs.delay, invoices, notes))


def pdf_warm_up() -> None:
    """Load what the first PDF of a process would pay for (WeasyPrint, Pango, the fonts in both
    weights, the stylesheet, the template): called when a worker process starts."""
    from django.template.loader import get_template

    from billing_site.pdf import warm_up

    get_template(PDF_TEMPLATE)
    warm_up(stylesheet=PDF_STYLESHEET)


def document_recipients(document) -> list[str]:
    emails = list(document.snapshot.get("account", {}).get("billing_emails") or [])
    contact = Contact.objects.filter(account_id=document.account_id, is_billing_contact=True).first()
    if contact and contact.email not in emails:
        emails.append(contact.email)
    return emails


def _claim_send(document, *, force: bool):
    """Take the right to send with a conditional UPDATE of `sent_at` (NULL, or the value read, for a
    forced resend): of two deliveries of one task at the same moment, exactly one gets it. Returns
    (claimed instant, previous value), or None when someone else sent or is sending it."""
    model = type(document)
    previous = model.objects.filter(pk=document.pk).values_list("sent_at", flat=True).first()
    if previous is not None and not force:
        return None
    now = clock.now()
    rows = model.objects.filter(pk=document.pk)
    rows = rows.filter(sent_at__isnull=True) if previous is None else rows.filter(sent_at=previous)
    if not rows.update(sent_at=now):
        return None
    return now, previous


def document_send(*, document, force: bool = False) -> bool:
    """Email the PDF to the billing contacts once (again only with `force`); True when sent.

    The send is claimed first (`_claim_send`), so a task delivered twice sends once. If the mail
    server fails, the claim is given back and the error raised for the task to retry. A worker killed
    between the claim and the send leaves the document marked sent without the "sent" audit row:
    at most once, as a customer must not get the same invoice twice."""
    if document.status == document.Status.DRAFT or (document.sent_at and not force):
        return False
    recipients = document_recipients(document)
    if not recipients:
        return False
    claim = _claim_send(document, force=force)
    if claim is None:
        return False
    claimed_at, previous = claim
    try:
        _send_email(document, recipients)
    except BaseException:
        type(document).objects.filter(pk=document.pk, sent_at=claimed_at).update(sent_at=previous)
        raise
    document.sent_at = claimed_at
    audit_record(obj=document, action="sent", actor_label="worker", message=", ".join(recipients))
    return True


def _send_email(document, recipients: list[str]) -> None:
    if not document.pdf:
        document_render_pdf(document=document)
    is_invoice = isinstance(document, Invoice)
    language = document.language or "en"
    entity = document.snapshot.get("legal_entity", {}).get("name", "")
    with translation.override(language):
        amount = format_money(document.total_amount, document.currency, language)
        if is_invoice:
            subject = _("Invoice %(number)s from %(entity)s") % {"number": document.number, "entity": entity}
            body = _(
                "Hello,\n\nPlease find attached invoice %(number)s for %(amount)s, due on %(due)s.\n\nThank you,\n%(entity)s"
            ) % {"number": document.number, "amount": amount, "due": document.due_date.isoformat(), "entity": entity}
        else:
            subject = _("Credit note %(number)s from %(entity)s") % {"number": document.number, "entity": entity}
            body = _("Hello,\n\nPlease find attached credit note %(number)s for %(amount)s.\n\nThank you,\n%(entity)s") % {
                "number": document.number, "amount": amount, "entity": entity,
            }
    message = EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=recipients)
    document.pdf.open("rb")
    try:
        message.attach(f"{document.number}.pdf", document.pdf.read(), "application/pdf")
    finally:
        document.pdf.close()
    message.send()


def documents_deliver(*, invoice_ids=(), credit_note_ids=()) -> int:
    """Render the missing PDFs (in one batch), then send each document (already sent ones are
    skipped); returns how many were sent."""
    documents_render_pdfs(invoice_ids=invoice_ids, credit_note_ids=credit_note_ids)
    sent = 0
    for invoice in Invoice.objects.filter(pk__in=list(invoice_ids)).exclude(status=Invoice.Status.DRAFT):
        sent += document_send(document=invoice)
    for note in CreditNote.objects.filter(pk__in=list(credit_note_ids)).exclude(status=CreditNote.Status.DRAFT):
        sent += document_send(document=note)
    return sent
