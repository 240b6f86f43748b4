"""Demo invoicing: a daily schedule and one run over the demo contracts (idempotent)."""

from billing_site import clock
from invoicing import services
from invoicing.models import Invoice, InvoiceSchedule


def seed(*, stdout, owners=None, users=None) -> None:
    finance = (users or {}).get("finance")
    if not InvoiceSchedule.objects.filter(name="Daily run").exists():
        services.invoice_schedule_save(actor=finance, data={"name": "Daily run", "frequency": "daily", "auto_post": True, "active": False})
    if Invoice.objects.exists():
        return
    run = services.invoice_run_create(actor=finance, target_date=clock.today(), auto_post=True, send_documents=False, start=False)
    run = services.invoice_run_execute(run=run)
    stdout.write(f"Invoicing: run {run.pk} billed {run.invoices_count} invoices ({run.accounts_failed} accounts failed).")
