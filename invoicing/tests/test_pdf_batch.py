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


def test_the_lines_cells_are_printed_as_the_template_filters_print_them():
    """The PDF's lines come formatted (and cached per process) by `_line_rows`: the same text as the
    filters the template used before, per language."""
    import datetime as dt
    from decimal import Decimal
    from types import SimpleNamespace

    from django.utils import formats, translation

    from billing_site.templatetags.recur import lastday, moneyfmt, numfmt

    line = SimpleNamespace(
        description="Seats <x>", period_start=dt.date(2025, 1, 15), period_end=dt.date(2025, 2, 1),
        quantity=Decimal("1.500000"), unit_price=Decimal("1234.5000"), factor_display="17/31 = 0.548387",
        net_amount=Decimal("1015.32"), tax_rate_percent=Decimal("20.0000"), tax_amount=Decimal("203.06"),
        total_amount=Decimal("1218.38"),
    )
    no_period = SimpleNamespace(**{**vars(line), "period_start": None, "period_end": None})
    en, en_no_period = delivery._line_rows([line, no_period], "EUR", "en")
    assert en == {
        "description": "Seats <x>", "period": "01/15/2025 – 01/31/2025", "quantity": "1.5", "unit_price": "€1,234.50",
        "factor": "17/31 = 0.548387", "net": "€1,015.32", "rate": "20", "tax": "€203.06", "total": "€1,218.38",
    }
    assert en_no_period == {**en, "period": ""}
    fr = delivery._line_rows([line], "EUR", "fr")[0]
    assert (fr["period"], fr["quantity"], fr["unit_price"], fr["total"]) == (
        "15/01/2025 – 31/01/2025", "1,5", "1\u202f234,50\xa0€", "1\u202f218,38\xa0€")
    for language, row in (("en", en), ("fr", fr)):
        with translation.override(language):
            assert row["period"] == f"{formats.date_format(line.period_start, 'SHORT_DATE_FORMAT')} – {lastday(line.period_end)}"
            assert (row["quantity"], row["rate"]) == (numfmt(line.quantity), numfmt(line.tax_rate_percent))
            assert [row[k] for k in ("unit_price", "net", "tax", "total")] == [
                moneyfmt(v, "EUR") for v in (line.unit_price, line.net_amount, line.tax_amount, line.total_amount)]


def test_credit_notes_are_rendered_in_the_batch_too(posted, settings, celery_eager):
    note = services.credit_note_post(
        credit_note=services.credit_note_create(invoice=posted[0], lines=None, reason="Returned", actor=None), actor=None)
    assert tasks.documents_render_pdfs.delay([], [note.pk]).get() == 1
    note.refresh_from_db()
    assert note.pdf.name == f"credit_notes/{date.today():%Y/%m}/{note.number}.pdf"
    with note.pdf.open("rb") as handle:
        assert handle.read() == delivery.document_pdf_bytes(note)
    assert tasks.documents_render_pdfs.delay([], [note.pk]).get() == 0
    assert _stored_files(settings) == [note.pdf.name]


@pytest.mark.parametrize(("send_documents", "task"), [(False, "documents_render_pdfs"), (True, "documents_deliver")])
def test_a_posting_run_gets_its_pdfs_on_the_workers_whether_or_not_it_sends(
    catalog, monthly, send_documents, task, django_capture_on_commit_callbacks
):
    for _ in range(3):
        activate(catalog=catalog, products=[(monthly, "1")], account=AccountFactory(), start=date(2025, 1, 1))
    run = services.invoice_run_create(actor=None, target_date=date(2025, 1, 1), auto_post=True,
                                      send_documents=send_documents, start=False)
    other = "documents_deliver" if task == "documents_render_pdfs" else "documents_render_pdfs"
    with mock.patch.object(getattr(tasks, task), "delay") as delay, mock.patch.object(getattr(tasks, other), "delay") as not_called:
        with django_capture_on_commit_callbacks(execute=True):
            services.invoice_run_execute(run=run)
    ids = sorted(Invoice.objects.filter(status="posted").values_list("pk", flat=True))
    assert len(ids) == 3
    assert delay.call_args_list == [mock.call(ids, [])]
    assert not_called.call_args_list == []


def test_a_run_that_does_not_post_renders_nothing(catalog, monthly, django_capture_on_commit_callbacks):
    activate(catalog=catalog, products=[(monthly, "1")], account=AccountFactory(), start=date(2025, 1, 1))
    run = services.invoice_run_create(actor=None, target_date=date(2025, 1, 1), auto_post=False, send_documents=False, start=False)
    with mock.patch.object(tasks.documents_render_pdfs, "delay") as render, \
            mock.patch.object(tasks.documents_deliver, "delay") as deliver:
        with django_capture_on_commit_callbacks(execute=True):
            services.invoice_run_execute(run=run)
    assert Invoice.objects.filter(status="draft").count() == 1
    assert render.call_args_list == [] and deliver.call_args_list == []
