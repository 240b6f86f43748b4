import datetime as dt

from django.core.management.base import BaseCommand

from billing_site import clock
from payments import services


class Command(BaseCommand):
    help = "Send the dunning steps due today (what beat runs daily). Safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=dt.date.fromisoformat, help="Business date (default: today).")

    def handle(self, *args, **options):
        today = options["date"] or clock.today()
        counts = services.dunning_run(today=today)
        self.stdout.write(f"dunning on {today}: {counts['sent']} sent, {counts['skipped']} skipped, "
                          f"{counts['no_email']} without email, {counts['holds']} credit holds")
