"""Demo import: Finance dry-ran a small accounts file from the previous system, found one row to fix and
has not committed it yet, so the import pages show a preview with an error row. Idempotent: the file
is uploaded once."""

from __future__ import annotations

from imports.models import ImportBatch, Kind
from imports.services import import_upload

FILENAME = "crm-accounts-export.csv"
# Semicolon-separated, as a French CRM exports it; the third row has no currency.
CONTENT = (
    b"external_id;name;country;currency;language;payment_terms_days;billing_day;billing_emails;city\n"
    b"CRM-4101;Verrerie Delorme;FR;EUR;fr;30;1;compta@verrerie-delorme.example;Limoges\n"
    b"CRM-4102;Pacific Coast Surveys;US;USD;en;45;1;ap@pacificcoastsurveys.example;San Diego\n"
    b"CRM-4103;Imprimerie Vasseur;FR;;fr;30;1;factures@imprimerie-vasseur.example;Amiens\n"
)


def seed(*, stdout=None, users=None) -> dict:
    if ImportBatch.objects.filter(filename=FILENAME).exists():
        return {"batches": 0}
    finance = (users or {}).get("finance")
    batch = import_upload(kind=Kind.ACCOUNTS, filename=FILENAME, content=CONTENT, actor=finance)
    if stdout is not None:
        stdout.write(f"Imports: {FILENAME} dry-run ({batch.counts.get('create', 0)} to create, "
                     f"{batch.counts.get('error', 0)} to fix), not committed.")
    return {"batches": 1}
