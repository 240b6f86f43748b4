from datetime import date

from django.core.management.base import BaseCommand

from billing_site import clock
from contracts import services


class Command(BaseCommand):
    help = "Extend the billing schedules of evergreen subscriptions to the horizon (12 months ahead)."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=date.fromisoformat, help="Business date (YYYY-MM-DD); default: today.")

    def handle(self, *args, today=None, **options):
        added = services.schedules_extend(today=today or clock.today())
        self.stdout.write(f"{added} schedule entries added")
