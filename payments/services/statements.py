"""Account statements sent by email (the statement page's PDF), each logged like a sent document."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import ValidationFailed
from billing_site.pdf import render_pdf
from customers.models import Account, Contact
from invoicing.models import DocumentSend
from payments.selectors.reports import account_statement


def statement_recipients(account: Account) -> list[str]:
    emails = list(account.billing_email_list)
    contact = Contact.objects.filter(account=account, is_billing_contact=True).first()
    if contact and contact.email and contact.email not in emails:
        emails.append(contact.email)
    return emails


def statement_pdf_bytes(*, account: Account, start: dt.date, end: dt.date, currency: str) -> bytes:
    from catalog.models import LegalEntity

    statement = account_statement(account=account, start=start, end=end, currency=currency)
    return render_pdf(template="payments/statement_pdf.html", language=account.language,
                      context={"s": statement, "entity": LegalEntity.objects.filter(active=True).first()})


def statement_send(*, account: Account, start: dt.date, end: dt.date, currency: str, actor) -> DocumentSend:
    """Email the account's statement for [start, end] to its billing contacts and log it."""
    if start > end:
        raise ValidationFailed(fields={"start": [_("The start date must be on or before the end date.")]})
    recipients = statement_recipients(account)
    if not recipients:
        raise ValidationFailed(_("No billing email on the account."))
    content = statement_pdf_bytes(account=account, start=start, end=end, currency=currency)
    with translation.override(account.language or "en"):
        subject = _("Account statement %(number)s at %(date)s") % {"number": account.number, "date": end.isoformat()}
        body = _("Hello,\n\nPlease find attached your account statement at %(date)s.\n\nThank you.") % {"date": end.isoformat()}
    message = EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=recipients)
    message.attach(f"statement-{account.number}-{end.isoformat()}.pdf", content, "application/pdf")
    message.send()
    sent = DocumentSend.objects.create(
        account=account, statement_end=end, recipients=", ".join(recipients), sent_at=clock.now(),
        sent_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(obj=account, action="statement_sent", actor=actor, message=sent.recipients)
    return sent
