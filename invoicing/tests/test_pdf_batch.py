"""PDFs rendered on the workers in batches: one task renders many posted documents, stores each PDF
exactly once (a redelivered task or a second worker stores nothing more), and worker processes load
the renderer when they start."""

from datetime import date
from pathlib import Path
from unittest import mock

import pytest

from invoicing import services, tasks
from invoicing.models import Invoice
from invoicing.services import delivery
from invoicing.tests.factories import AccountFactory, activate

pytestmark = pytest.mark.django_db


@pytest.fixture
def posted(catalog, monthly):
    for _ in range(3):
        activate(catalog=catalog, products=[(monthly, "1")], account=AccountFactory(), start=date(2025, 1, 1))
    run = services.invoice_run_create(actor=None, target_date=date(2025, 1, 1), auto_post=True, send_documents=False, start=False)
    services.invoice_run_execute(run=run)
    invoices = list(Invoice.objects.order_by("pk"))
    assert len(invoices) == 3 and all(i.status == "posted" and not i.pdf for i in invoices)
    return invoices


def _stored_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.pdf"))


def test_one_task_renders_the_batch_and_stores_each_pdf_once(posted, settings, celery_eager, django_assert_num_queries):
    ids = [i.pk for i in posted]
    # The invoices, all their lines, then one UPDATE per stored PDF.
    with django_assert_num_queries(2 + 3):
        assert tasks.documents_render_pdfs.delay(ids, []).get() == 3
    stored = {i.pk: i.pdf.name for i in Invoice.objects.filter(pk__in=ids)}
    assert stored == {i.pk: f"invoices/{date.today():%Y/%m}/{i.number}.pdf" for i in posted}
    assert _stored_files(settings) == sorted(stored.values())
    for invoice in Invoice.objects.filter(pk__in=ids):
        with invoice.pdf.open("rb") as handle:
            assert handle.read() == delivery.document_pdf_bytes(invoice)  # its own PDF, byte for byte

    # Delivered again: nothing rendered, nothing stored, the names stay.
    assert tasks.documents_render_pdfs.delay(ids, []).get() == 0
    assert {i.pk: i.pdf.name for i in Invoice.objects.filter(pk__in=ids)} == stored
    assert _stored_files(settings) == sorted(stored.values())


def test_a_pdf_stored_by_another_worker_meanwhile_is_not_stored_twice(posted, settings, celery_eager):
    """Another worker stores the first invoice's PDF after this batch read it: this batch's copy is
    deleted and the other worker's file stays the one the invoice points at."""
    first = posted[0]
    real = delivery.document_pdf_bytes

    def render(document):
        content = real(document)
        if document.pk == first.pk:  # the other worker's batch stores it first
            other = Invoice.objects.get(pk=first.pk)
            assert delivery._store_pdf(other, real(other), replace=False) is True
        return content

    with mock.patch.object(delivery, "document_pdf_bytes", side_effect=render):
        assert delivery.documents_render_pdfs(invoice_ids=[i.pk for i in posted]) == 2
    names = sorted(Invoice.objects.values_list("pdf", flat=True))
    assert names == sorted(f"invoices/{date.today():%Y/%m}/{i.number}.pdf" for i in posted)
    assert _stored_files(settings) == names


def test_drafts_are_not_rendered(catalog, monthly, settings, celery_eager):
    activate(catalog=catalog, products=[(monthly, "1")], account=AccountFactory(), start=date(2025, 1, 1))
    run = services.invoice_run_create(actor=None, target_date=date(2025, 1, 1), auto_post=False, send_documents=False, start=False)
    services.invoice_run_execute(run=run)
    draft = Invoice.objects.get()
    assert draft.status == "draft"
    assert delivery.documents_render_pdfs(invoice_ids=[draft.pk]) == 0
    assert Invoice.objects.get().pdf.name == ""
    assert _stored_files(settings) == []


def test_render_later_sends_one_task_per_batch_after_commit(posted, django_capture_on_commit_callbacks):
    ids = [i.pk for i in posted]
    with mock.patch.object(tasks.documents_render_pdfs, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            delivery.documents_render_later(invoice_ids=ids, credit_note_ids=[7], batch_size=2)
        delay.assert_not_called()  # nothing before the commit
        for callback in callbacks:
            callback()
    assert delay.call_args_list == [mock.call(ids[:2], []), mock.call(ids[2:], []), mock.call([], [7])]


def test_worker_processes_warm_the_pdf_renderer_up():
    from celery.signals import worker_process_init

    assert any(receiver() is tasks._warm_up_pdf_renderer for _, receiver in worker_process_init.receivers)
    with mock.patch("billing_site.pdf.warm_up") as warm_up:
        tasks._warm_up_pdf_renderer()
    warm_up.assert_called_once_with(stylesheet=delivery.PDF_STYLESHEET)
    with mock.patch("billing_site.pdf.warm_up", side_effect=OSError("no fonts")):
        tasks._warm_up_pdf_renderer()  # logged, the worker still starts
