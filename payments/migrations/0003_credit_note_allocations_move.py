"""Move invoicing's credit-note allocation rows into payments' `Allocation` rows (data only).

Applying a credit note to an invoice is one concept, payments' allocation rows. Each old row becomes
one allocation of the same credit note, invoice, amount and author, dated on the business day it was
written. Invoice balances already counted the old rows, so `open_amount` and `payment_status` stay as
they are. Runs before invoicing drops the old table.
"""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations


def move(apps, schema_editor):
    CreditNoteAllocation = apps.get_model("invoicing", "CreditNoteAllocation")
    Allocation = apps.get_model("payments", "Allocation")
    # Keep each row's own instant: the historical model would stamp "now" on create.
    Allocation._meta.get_field("created_at").auto_now_add = False
    zone = ZoneInfo(settings.BILLING_TIME_ZONE)
    batch = []
    rows = CreditNoteAllocation.objects.select_related("invoice", "created_by").order_by("id")
    for old in rows.iterator(chunk_size=2000):
        batch.append(Allocation(
            account_id=old.invoice.account_id, currency=old.invoice.currency, invoice_id=old.invoice_id,
            credit_note_id=old.credit_note_id, amount=old.amount, allocated_date=old.created_at.astimezone(zone).date(),
            reason="posted", created_at=old.created_at, created_by_id=old.created_by_id,
            actor_label=old.created_by.username if old.created_by_id else "system",
        ))
        if len(batch) >= 2000:
            Allocation.objects.bulk_create(batch)
            batch = []
    Allocation.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_fill_invoice_open_amount"),
        ("invoicing", "0007_merge_20261130_1953"),
    ]
    run_before = [("invoicing", "0008_creditnoteallocation_delete")]

    operations = [migrations.RunPython(move, migrations.RunPython.noop)]
