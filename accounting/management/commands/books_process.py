from django.core.management.base import BaseCommand

from accounting import services
from billing_site import clock


class Command(BaseCommand):
    help = "Journal every posted invoice, credit note, payment and refund not yet in the books (safe to run twice)."

    def handle(self, *args, **options):
        result = services.books_process(today=clock.today())
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in result.items()))
