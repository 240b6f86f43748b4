"""Benchmark: render and store invoice PDFs (WeasyPrint) with W processes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_bench .venv/bin/python bench/pdf_render.py --count 200 --workers 2

Uses posted invoices from bench/invoice_run.py (run it first). The timed part is what the workers
do after posting, through the service the `documents_render_pdfs` task calls: read a batch of
invoices and their lines (`--batch` a call, default PDF_BATCH_SIZE), render each from its snapshot
in the account's language, write the PDF file and store its name. The processes are forked from a
parent that loaded the renderer (`pdf_warm_up`, as a Celery worker process does when it starts).

The machine may be shared: besides PDFs/s (wall clock) it prints the CPU time the workers used per
PDF, which predicts PDFs/s on W free cores as W / (CPU seconds per PDF). bench/pdf_profile.py
measures and profiles the rendering alone in one process.
"""

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time

import _env  # noqa: F401 - the project on sys.path, the benchmark settings

os.environ.setdefault("MEDIA_ROOT", "/tmp/recur-bench-media")


TARGET_PER_SECOND = 40  # issue 14: ≥ 40 PDFs/s with 2 processes (≤ 50 ms of CPU per 12-line PDF)


def worker(ids, batch):
    import django

    django.setup()
    from invoicing.services.delivery import documents_render_pdfs

    for start in range(0, len(ids), batch):
        documents_render_pdfs(invoice_ids=ids[start : start + batch])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=0, help="invoices per task (default: PDF_BATCH_SIZE)")
    args = parser.parse_args()
    import django

    django.setup()
    from django.db import connections

    from invoicing.models import Invoice
    from invoicing.services.delivery import PDF_BATCH_SIZE, document_pdf_bytes, pdf_warm_up

    batch = args.batch or PDF_BATCH_SIZE
    ids = list(Invoice.objects.filter(status="posted").order_by("-id").values_list("id", flat=True)[: args.count])
    if len(ids) < args.count:
        sys.exit("Not enough posted invoices: run bench/invoice_run.py first.")
    Invoice.objects.filter(pk__in=ids).update(pdf="")
    connections.close_all()
    # Warm-up in the parent (fonts, templates) is not what a long-running worker pays per PDF.
    pdf_warm_up()
    document_pdf_bytes(Invoice.objects.get(pk=ids[0]))
    connections.close_all()
    parts = [ids[i :: args.workers] for i in range(args.workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    procs = [mp.Process(target=worker, args=(part, batch)) for part in parts]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stored = Invoice.objects.filter(pk__in=ids).exclude(pdf="").count()
    print(
        f"{stored} PDFs rendered and stored in {elapsed:.1f} s with {args.workers} processes, {batch} a task: "
        f"{stored / elapsed:.1f} PDFs/s (target ≥ {TARGET_PER_SECOND}/s with 2 processes)"
    )
    per = cpu / max(stored, 1)
    print(
        f"worker CPU {cpu:.1f} s: {per * 1000:.1f} ms per PDF → ~{args.workers / per:.1f} PDFs/s on "
        f"{args.workers} free cores (load average now {os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
