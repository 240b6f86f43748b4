"""CPU time per invoice PDF in ONE process (robust to other load on the machine), with an optional profile.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_bench .venv/bin/python bench/pdf_profile.py --count 50
    DATABASE_URL=... .venv/bin/python bench/pdf_profile.py --count 50 --profile 30   # cProfile, top 30 by cumulative
    DATABASE_URL=... .venv/bin/python bench/pdf_profile.py --phases                  # template / layout / PDF split
    DATABASE_URL=... .venv/bin/python bench/pdf_profile.py --out /tmp/inv.pdf        # keep one PDF to look at

Uses posted invoices from bench/invoice_run.py. The timed part is `document_pdf_bytes` (what the worker
renders; reading the lines included, storing the file not), measured with `time.process_time()` after
two warm-up renders. 2 / (CPU seconds per PDF) predicts PDFs/s on two free cores. `--rich` fills the
(in-memory, never saved) snapshot with a full legal entity and account (addresses, tax ids, bank
details), as a real invoice has.
"""

import argparse
import cProfile
import gc
import pstats
import sys
import time
from pathlib import Path

import _env  # noqa: F401 - the project on sys.path, the benchmark settings

RICH_ENTITY = {
    "name": "Recur Billing SAS",
    "address_lines": ["12 rue de la Paix", "Bâtiment B", "75002 Paris", "France"],
    "tax_id": "FR12345678901",
    "bank_details": "IBAN FR76 3000 6000 0112 3456 7890 189\nBIC AGRIFRPPXXX\nCrédit Agricole, Paris",
    "email": "billing@recur.example",
    "website": "recur.example",
}
RICH_ACCOUNT = {
    "legal_name": "Northwind Traders GmbH",
    "address_lines": ["Attn. Accounts Payable", "Hauptstraße 5", "10115 Berlin", "Germany"],
    "tax_id": "DE123456789",
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=50, help="timed renders (after 2 warm-ups)")
    parser.add_argument("--invoices", type=int, default=10, help="distinct invoices cycled through")
    parser.add_argument("--rich", action="store_true", help="full entity/account data in the snapshot (not saved)")
    parser.add_argument("--language", default="", help="override the document language (en/fr)")
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions by cumulative time")
    parser.add_argument("--tottime", action="store_true", help="sort the profile by own time instead")
    parser.add_argument("--phases", action="store_true", help="split CPU time: template, parse+layout, PDF writing")
    parser.add_argument("--out", default="", help="write the first PDF here")
    args = parser.parse_args()

    import django

    django.setup()
    from invoicing.models import Invoice
    from invoicing.services.delivery import document_pdf_bytes

    invoices = list(Invoice.objects.filter(status="posted").order_by("-id").prefetch_related("lines")[: args.invoices])
    if not invoices:
        sys.exit("No posted invoices: run bench/invoice_run.py first.")
    for invoice in invoices:
        if args.rich:
            invoice.snapshot = {
                **invoice.snapshot,
                "legal_entity": {**invoice.snapshot.get("legal_entity", {}), **RICH_ENTITY},
                "account": {**invoice.snapshot.get("account", {}), **RICH_ACCOUNT},
            }
        if args.language:
            invoice.language = args.language
    lines = sum(len(i.lines.all()) for i in invoices) / len(invoices)

    for invoice in invoices[:2]:
        pdf = document_pdf_bytes(invoice)
    if args.out:
        Path(args.out).write_bytes(document_pdf_bytes(invoices[0]))
        print(f"wrote {args.out} ({len(pdf):,} bytes)")

    if args.phases:
        _phases(invoices, args.count)
        return

    profiler = cProfile.Profile() if args.profile else None
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for n in range(args.count):
        pdf = document_pdf_bytes(invoices[n % len(invoices)])
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
    per = cpu / args.count
    print(
        f"{args.count} PDFs ({lines:.0f} lines, {len(pdf):,} bytes): {per * 1000:.1f} ms CPU per PDF "
        f"(wall {wall / args.count * 1000:.1f} ms) → ~{2 / per:.1f} PDFs/s predicted on 2 free cores"
    )
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime" if args.tottime else "cumulative").print_stats(args.profile)


def _phases(invoices, count):
    """Same work as document_pdf_bytes, timed per phase (the kernel renderer's own pieces; WeasyPrint's
    steps are timed by wrapping its functions, for this measurement only). Nested phases (fonts and
    PDF writing inside write_pdf) are subtracted from their parent, so the rows add up."""
    import functools

    import pydyf
    import weasyprint.document as wp_document
    import weasyprint.pdf as wp_pdf
    from django.template.loader import render_to_string
    from django.utils import translation

    from billing_site import pdf as kernel_pdf
    from invoicing.services import delivery

    totals = dict.fromkeys(
        ["context+template", "parse (expat)", "style cascade", "box tree", "layout", "draw (paint pages)",
         "fonts (subset+embed)", "PDF serialize+compress", "write_pdf other", "garbage collection"], 0.0)

    def timed(owner, name, label):
        function = getattr(owner, name)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                totals[label] += time.process_time() - start

        setattr(owner, name, wrapper)

    timed(kernel_pdf, "_parse", "parse (expat)")
    timed(wp_document, "get_all_computed_styles", "style cascade")
    timed(wp_document, "build_formatting_structure", "box tree")
    timed(wp_document.Page, "paint", "draw (paint pages)")
    timed(wp_pdf, "build_fonts_dictionary", "fonts (subset+embed)")
    timed(pydyf.PDF, "write", "PDF serialize+compress")
    layout_total = write_total = 0.0
    for n in range(count):
        document = invoices[n % len(invoices)]
        t0 = time.process_time()
        language = document.language or "en"
        context = delivery._document_context(document)
        with translation.override(language):
            html = render_to_string(delivery.PDF_TEMPLATE, {**context, "LANGUAGE_CODE": language})
        t1 = time.process_time()
        gc.disable()  # as render_pdf does; the collection it leaves for afterwards is timed below
        rendered = kernel_pdf.layout(html, stylesheet=delivery.PDF_STYLESHEET, minimal_ua=True)
        t2 = time.process_time()
        rendered.write_pdf(**kernel_pdf.WRITE_OPTIONS)
        t3 = time.process_time()
        del rendered
        gc.enable()
        gc.collect(0)
        totals["garbage collection"] += time.process_time() - t3
        totals["context+template"] += t1 - t0
        layout_total += t2 - t1
        write_total += t3 - t2
    totals["layout"] = layout_total - totals["parse (expat)"] - totals["style cascade"] - totals["box tree"]
    totals["write_pdf other"] = (write_total - totals["draw (paint pages)"] - totals["fonts (subset+embed)"]
                                 - totals["PDF serialize+compress"])
    grand = sum(totals.values())
    for name, seconds in totals.items():
        print(f"{name:>24}: {seconds / count * 1000:6.1f} ms CPU per PDF ({seconds / grand:4.0%})")
    print(f"{'total':>24}: {grand / count * 1000:6.1f} ms CPU per PDF")


if __name__ == "__main__":
    main()
