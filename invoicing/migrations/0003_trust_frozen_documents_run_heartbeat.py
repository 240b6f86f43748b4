"""Run chunks get a heartbeat and count the accounts they skipped; and the PostgreSQL triggers, second version: a posted document is frozen in every column, both ends of a move.

The first triggers listed the frozen columns, so a column they forgot (`language`, `posted_by`,
`tax_label`, `factor_display`, …) could be changed, and line triggers only looked at one parent, so a
draft's line could be moved into a posted invoice and a line moved out of a posted credit note.
Now each guard compares the whole row (`to_jsonb`) minus a short list of what may change, so a column
added later is frozen without anyone remembering it, and a line write is checked against its old AND
its new parent. What may change on a posted document:
- invoice: status posted → cancelled (with `cancelled_at`, set once), the PDF file, the sending instant, and
  its balance (`open_amount`, `payment_status`), kept by every allocation in its own transaction;
- invoice line: `billing_key`, only to NULL (cancel & rebill gives the period back);
- credit note: the PDF file and the sending instant; its lines: nothing.
Who posted a document is part of it: `posted_by` (and a credit note's `created_by`) now PROTECT the user,
who is deactivated rather than deleted. SQLite has no triggers here; the services refuse first anyway.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FORWARD = """
CREATE OR REPLACE FUNCTION invoicing_invoice_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'invoice % is posted and cannot be deleted', OLD.number USING ERRCODE = '23001';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' THEN
        IF (to_jsonb(NEW) - ARRAY['status', 'cancelled_at', 'pdf', 'sent_at', 'open_amount', 'payment_status'])
               IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['status', 'cancelled_at', 'pdf', 'sent_at', 'open_amount', 'payment_status'])
           OR (NEW.status <> OLD.status AND NOT (OLD.status = 'posted' AND NEW.status = 'cancelled'))
           OR (OLD.cancelled_at IS NOT NULL AND NEW.cancelled_at IS DISTINCT FROM OLD.cancelled_at) THEN
            RAISE EXCEPTION 'invoice % is posted and cannot be changed', OLD.number USING ERRCODE = '23001';
        END IF;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION invoicing_invoiceline_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM new_rows n JOIN invoicing_invoice i ON i.id = n.invoice_id WHERE i.status <> 'draft') THEN
            RAISE EXCEPTION 'lines cannot be added to a posted invoice' USING ERRCODE = '23001';
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        IF EXISTS (
            SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
            JOIN invoicing_invoice oi ON oi.id = o.invoice_id
            JOIN invoicing_invoice ni ON ni.id = n.invoice_id
            WHERE (oi.status <> 'draft' OR ni.status <> 'draft')
              AND ((to_jsonb(n) - 'billing_key') IS DISTINCT FROM (to_jsonb(o) - 'billing_key')
                   OR (n.billing_key IS DISTINCT FROM o.billing_key AND n.billing_key IS NOT NULL))
        ) THEN
            RAISE EXCEPTION 'lines of a posted invoice cannot be changed' USING ERRCODE = '23001';
        END IF;
    ELSE
        IF EXISTS (SELECT 1 FROM old_rows o JOIN invoicing_invoice i ON i.id = o.invoice_id WHERE i.status <> 'draft') THEN
            RAISE EXCEPTION 'lines of a posted invoice cannot be deleted' USING ERRCODE = '23001';
        END IF;
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION invoicing_creditnote_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'credit note % is posted and cannot be deleted', OLD.number USING ERRCODE = '23001';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft'
       AND (to_jsonb(NEW) - ARRAY['pdf', 'sent_at']) IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['pdf', 'sent_at']) THEN
        RAISE EXCEPTION 'credit note % is posted and cannot be changed', OLD.number USING ERRCODE = '23001';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION invoicing_creditnoteline_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND to_jsonb(NEW) IS NOT DISTINCT FROM to_jsonb(OLD) THEN
        RETURN NEW;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE')
       AND EXISTS (SELECT 1 FROM invoicing_creditnote c WHERE c.id = OLD.credit_note_id AND c.status <> 'draft') THEN
        RAISE EXCEPTION 'lines of a posted credit note cannot be changed' USING ERRCODE = '23001';
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT')
       AND EXISTS (SELECT 1 FROM invoicing_creditnote c WHERE c.id = NEW.credit_note_id AND c.status <> 'draft') THEN
        RAISE EXCEPTION 'lines of a posted credit note cannot be changed' USING ERRCODE = '23001';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FORWARD)  # no parameters: the % of RAISE messages stay as written


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        previous = import_module("invoicing.migrations.0002_posted_documents_trigger")
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(previous.BACKWARD)
            cursor.execute(previous.FORWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0002_posted_documents_trigger"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="creditnote",
            name="created_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name="creditnote",
            name="posted_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name="invoice",
            name="posted_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name="invoicerun",
            name="accounts_skipped",
            field=models.PositiveIntegerField(default=0, verbose_name="accounts skipped"),
        ),
        migrations.AddField(
            model_name="invoicerunchunk",
            name="accounts_skipped",
            field=models.PositiveIntegerField(default=0, verbose_name="accounts skipped"),
        ),
        migrations.AddField(
            model_name="invoicerunchunk",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last sign of life"),
        ),
        migrations.RunPython(forward, backward),
    ]
