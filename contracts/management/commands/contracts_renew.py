from datetime import date

from django.core.management.base import BaseCommand

from billing_site import clock
from contracts import services


class Command(BaseCommand):
    help = "Renew or quote the renewal of contracts ending within RENEWAL_NOTICE_DAYS, then expire ended contracts."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=date.fromisoformat, help="Business date (YYYY-MM-DD); default: today.")

    def handle(self, *args, today=None, **options):
        today = today or clock.today()
        counts = services.renewals_create(today=today)
        expired = services.contracts_expire(today=today)
        self.stdout.write(
            f"renewed {counts['renewed']}, renewal quotes {counts['quoted']}, refused {counts['failed']}, expired {expired}"
        )
