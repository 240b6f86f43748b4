import datetime as dt

from django.core.management.base import BaseCommand

from billing_site import clock
from quotes.services import quotes_expire_due


class Command(BaseCommand):
    help = "Expire open quotes whose expiration date has passed (what the daily beat job runs)."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=dt.date.fromisoformat, help="Business date to use (YYYY-MM-DD).")

    def handle(self, *args, today=None, **options):
        count = quotes_expire_due(today=today or clock.today())
        self.stdout.write(f"{count} quote(s) expired.")
