"""Jobs retry what is transient and never do a side effect twice: a mail server that fails is retried
with backoff and each document is still sent once; a task delivered twice sends once; a run chunk
that meets a database hiccup is retried and finishes."""

import smtplib
from datetime import date

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import OperationalError

from billing_site.models import AuditLog
from invoicing import services, tasks
from invoicing.models import Invoice, InvoiceRunChunk
from invoicing.services import delivery
from invoicing.services import runs as run_services
from invoicing.tests.factories import AccountFactory, activate

pytestmark = pytest.mark.django_db


class FlakyBackend(EmailBackend):
    """Locmem, but the first `failures` sends lose the connection, as a busy SMTP server does."""

    failures = 0
    attempts = 0

    def send_messages(self, messages):
        FlakyBackend.attempts += 1
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def posted(catalog, monthly):
    for _ in range(2):
        activate(catalog=catalog, products=[(monthly, "1")], account=AccountFactory(), start=date(2025, 1, 1))
    run = services.invoice_run_create(actor=None, target_date=date(2025, 1, 1), auto_post=True, send_documents=False, start=False)
    services.invoice_run_execute(run=run)
    return list(Invoice.objects.order_by("pk"))


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = "invoicing.tests.test_delivery_retry.FlakyBackend"
    FlakyBackend.failures, FlakyBackend.attempts = 0, 0
    return FlakyBackend


def test_a_failing_mail_server_is_retried_and_each_invoice_sent_once(posted, flaky, celery_eager):
    flaky.failures = 2
    tasks.documents_deliver.delay([i.pk for i in posted], [])
    assert flaky.attempts == 4  # 2 failures, then one send per invoice
    assert sorted(m.to[0] for m in mail.outbox) == sorted(i.snapshot["account"]["billing_emails"][0] for i in posted)
    assert all(i.sent_at for i in Invoice.objects.all())
    assert AuditLog.objects.filter(action="sent").count() == 2
    # Delivered again (a redelivered task): nothing more is sent.
    tasks.documents_deliver.delay([i.pk for i in posted], [])
    assert len(mail.outbox) == 2


def test_a_failed_send_gives_its_claim_back(posted, flaky):
    flaky.failures = 1
    with pytest.raises(smtplib.SMTPServerDisconnected):
        delivery.document_send(document=posted[0])
    assert Invoice.objects.get(pk=posted[0].pk).sent_at is None
    assert delivery.document_send(document=Invoice.objects.get(pk=posted[0].pk)) is True
    assert len(mail.outbox) == 1


def test_two_deliveries_at_the_same_moment_send_once(posted, settings, celery_eager):
    """The second delivery arrives while the first is talking to the mail server."""
    invoice = posted[0]
    results = []

    class SecondDelivery(EmailBackend):
        def send_messages(self, messages):
            if not results:
                results.append(delivery.document_send(document=Invoice.objects.get(pk=invoice.pk)))
            return super().send_messages(messages)

    import invoicing.tests.test_delivery_retry as this

    this.SecondDelivery = SecondDelivery
    settings.EMAIL_BACKEND = "invoicing.tests.test_delivery_retry.SecondDelivery"
    assert delivery.document_send(document=Invoice.objects.get(pk=invoice.pk)) is True
    assert results == [False]
    assert len(mail.outbox) == 1


def test_a_chunk_that_meets_a_database_hiccup_is_retried_and_the_run_finishes(posted, catalog, monthly, monkeypatch, celery_eager):
    for _ in range(3):
        activate(catalog=catalog, products=[(monthly, "1")], account=AccountFactory(), start=date(2025, 2, 1))
    run = services.invoice_run_create(actor=None, target_date=date(2025, 2, 1), auto_post=True, send_documents=False, start=False)
    run_services.invoice_run_prepare(run_id=run.pk)
    real = run_services._bill_group
    calls = {"n": 0}

    def hiccup(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(run_services, "_bill_group", hiccup)
    tasks.invoice_run_chunk.delay(run.pk, 0)
    run.refresh_from_db()
    chunk = InvoiceRunChunk.objects.get(run=run, index=0)
    assert (chunk.status, chunk.attempts) == ("done", 2)
    assert (run.status, run.invoices_count) == ("completed", 5)
