"""Start, run or resume invoice runs from cron or a shell; dispatch the due schedules."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from billing_site import clock
from invoicing import services
from invoicing.models import InvoiceRun


class Command(BaseCommand):
    help = (
        "Invoice runs. Examples: `invoice_run --target-date 2025-03-01 --post --sync` bills in this process; "
        "without --sync the run is queued for the workers. `invoice_run --schedules` starts the runs of the "
        "schedules due today. `invoice_run --resume 42` re-sends the unfinished chunks of run 42. "
        "`invoice_run --chunk 42:3` bills chunk 3 of run 42 in this process."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--target-date", type=dt.date.fromisoformat)
        parser.add_argument("--invoice-date", type=dt.date.fromisoformat)
        parser.add_argument("--post", action="store_true", help="Post the invoices (default: leave drafts).")
        parser.add_argument("--no-send", action="store_true", help="Do not render and email PDFs after posting.")
        parser.add_argument("--sync", action="store_true", help="Run every chunk in this process.")
        parser.add_argument("--chunk-size", type=int, default=500)
        parser.add_argument("--schedules", action="store_true", help="Dispatch the schedules due today.")
        parser.add_argument("--resume", type=int, metavar="RUN_ID")
        parser.add_argument("--chunk", metavar="RUN_ID:INDEX")

    def handle(self, *args, **options):
        if options["schedules"]:
            runs = services.invoice_schedules_dispatch(synchronous=options["sync"])
            self.stdout.write(f"{len(runs)} run(s) started.")
            return
        if options["resume"]:
            run = InvoiceRun.objects.get(pk=options["resume"])
            indexes = services.invoice_run_resume(run=run, actor=None, dispatch=not options["sync"])
            if options["sync"]:
                for index in indexes:
                    services.invoice_run_process_chunk(run_id=run.pk, index=index)
            self.stdout.write(f"Run {run.pk}: {len(indexes)} chunk(s) resumed.")
            return
        if options["chunk"]:
            run_id, index = (int(x) for x in options["chunk"].split(":"))
            services.invoice_run_process_chunk(run_id=run_id, index=index)
            self.stdout.write(f"Run {run_id} chunk {index} processed.")
            return
        target = options["target_date"] or clock.today()
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        run = services.invoice_run_create(
            actor=None, target_date=target, invoice_date=options["invoice_date"], auto_post=options["post"],
            send_documents=not options["no_send"], chunk_size=options["chunk_size"], start=not options["sync"],
        )
        if options["sync"]:
            run = services.invoice_run_execute(run=run)
            self.stdout.write(
                f"Run {run.pk}: {run.get_status_display()}, {run.accounts_done} accounts, {run.invoices_count} invoices, "
                f"{run.lines_count} lines, {run.accounts_failed} failed."
            )
        else:
            self.stdout.write(f"Run {run.pk} queued for the workers.")
