"""Fill `Invoice.open_amount` and `payment_status` from the allocation rows (data only).

The columns are kept by the services from now on; this computes them once for existing invoices:
open = total − payment and credit note allocations (payments) − credit note allocations (invoicing).
"""

from decimal import Decimal

from django.db import migrations
from django.db.models import Sum

ZERO = Decimal("0")


def fill(apps, schema_editor):
    Invoice = apps.get_model("invoicing", "Invoice")
    Allocation = apps.get_model("payments", "Allocation")
    CreditNoteAllocation = apps.get_model("invoicing", "CreditNoteAllocation")
    settled = {r["invoice_id"]: r["s"] for r in Allocation.objects.values("invoice_id").annotate(s=Sum("amount")).order_by()}
    for r in CreditNoteAllocation.objects.values("invoice_id").annotate(s=Sum("amount")).order_by():
        settled[r["invoice_id"]] = settled.get(r["invoice_id"], ZERO) + r["s"]
    batch = []
    for invoice in Invoice.objects.only("id", "total_amount").iterator(chunk_size=2000):
        invoice.open_amount = (invoice.total_amount - settled.get(invoice.pk, ZERO)).quantize(Decimal("0.000001"))
        if invoice.open_amount <= 0:
            invoice.payment_status = "paid"
        elif invoice.open_amount < invoice.total_amount:
            invoice.payment_status = "partially_paid"
        else:
            invoice.payment_status = "unpaid"
        batch.append(invoice)
        if len(batch) >= 2000:
            Invoice.objects.bulk_update(batch, ["open_amount", "payment_status"])
            batch = []
    Invoice.objects.bulk_update(batch, ["open_amount", "payment_status"])


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("invoicing", "0003_invoice_balance_bulk_jobs_sent_log"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
