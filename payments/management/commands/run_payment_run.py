import datetime as dt

from django.core.management.base import BaseCommand

from billing_site import clock
from payments import services
from payments.models import PaymentRun


class Command(BaseCommand):
    help = "Charge the due posted invoices of autopay accounts (what beat runs daily). Safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=dt.date.fromisoformat, help="Business date of the run (default: today).")
        parser.add_argument("--scheduled", action="store_true", help="Count as the day's scheduled run (one per day).")

    def handle(self, *args, **options):
        today = options["date"] or clock.today()
        trigger = PaymentRun.Trigger.SCHEDULED if options["scheduled"] else PaymentRun.Trigger.MANUAL
        run = services.payment_run_execute(run=services.payment_run_start(today=today, trigger=trigger), today=today)
        collected = ", ".join(f"{amount} {cur}" for cur, amount in run.collected.items()) or "nothing"
        self.stdout.write(f"payment run {run.pk} on {today}: {run.attempts_count} attempts, {run.succeeded_count} succeeded, "
                          f"{run.declined_count} declined; collected {collected}")
