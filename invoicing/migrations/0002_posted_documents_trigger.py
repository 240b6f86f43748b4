"""PostgreSQL triggers: posted invoices and credit notes (and their lines) are immutable.

Services refuse first (Immutable); this is the last line of defence against any other writer.
On a posted or cancelled invoice only the status (posted → cancelled), the cancellation instant,
the PDF file and the sending instant may change; a line keeps every column except `billing_key`,
which cancel & rebill sets to NULL. Line triggers are per statement (transition tables) so a run
inserting 600,000 lines pays one check per statement, not per row. SQLite has no triggers here.
"""

from django.db import migrations

INVOICE_FROZEN = [
    "account_id", "legal_entity_id", "currency", "payment_terms_days", "contract_id", "number", "sequence",
    "invoice_date", "due_date", "subtotal_amount", "tax_amount", "total_amount", "snapshot", "run_id",
    "rebill_of_id", "posted_at", "target_date",
]
LINE_FROZEN = [
    "invoice_id", "position", "source", "schedule_entry_id", "subscription_id", "description", "period_start",
    "period_end", "quantity", "unit_price", "factor_numerator", "factor_denominator", "net_amount",
    "tax_rate_percent", "tax_amount", "total_amount",
]
CREDIT_FROZEN = [
    "account_id", "legal_entity_id", "currency", "invoice_id", "kind", "number", "sequence", "credit_date",
    "subtotal_amount", "tax_amount", "total_amount", "snapshot", "posted_at", "status",
]
CREDIT_LINE_FROZEN = [
    "credit_note_id", "invoice_line_id", "schedule_entry_id", "credit_key", "description", "quantity",
    "unit_price", "net_amount", "tax_rate_percent", "tax_amount", "total_amount",
]


def _changed(columns, old="OLD", new="NEW"):
    return " OR ".join(f"{new}.{c} IS DISTINCT FROM {old}.{c}" for c in columns)


FORWARD = f"""
CREATE OR REPLACE FUNCTION invoicing_invoice_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'invoice % is posted and cannot be deleted', OLD.number USING ERRCODE = '23001';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' THEN
        IF {_changed(INVOICE_FROZEN)}
           OR (NEW.status <> OLD.status AND NOT (OLD.status = 'posted' AND NEW.status = 'cancelled')) THEN
            RAISE EXCEPTION 'invoice % is posted and cannot be changed', OLD.number USING ERRCODE = '23001';
        END IF;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER invoicing_invoice_guard BEFORE UPDATE OR DELETE ON invoicing_invoice
    FOR EACH ROW EXECUTE FUNCTION invoicing_invoice_guard();

CREATE OR REPLACE FUNCTION invoicing_invoiceline_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM new_rows n JOIN invoicing_invoice i ON i.id = n.invoice_id WHERE i.status <> 'draft') THEN
            RAISE EXCEPTION 'lines cannot be added to a posted invoice' USING ERRCODE = '23001';
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        IF EXISTS (
            SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id JOIN invoicing_invoice i ON i.id = o.invoice_id
            WHERE i.status <> 'draft' AND ({_changed(LINE_FROZEN, "o", "n")})
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

CREATE TRIGGER invoicing_invoiceline_guard_insert AFTER INSERT ON invoicing_invoiceline
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION invoicing_invoiceline_guard();
CREATE TRIGGER invoicing_invoiceline_guard_update AFTER UPDATE ON invoicing_invoiceline
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION invoicing_invoiceline_guard();
CREATE TRIGGER invoicing_invoiceline_guard_delete AFTER DELETE ON invoicing_invoiceline
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION invoicing_invoiceline_guard();

CREATE OR REPLACE FUNCTION invoicing_creditnote_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'credit note % is posted and cannot be deleted', OLD.number USING ERRCODE = '23001';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' AND ({_changed(CREDIT_FROZEN)}) THEN
        RAISE EXCEPTION 'credit note % is posted and cannot be changed', OLD.number USING ERRCODE = '23001';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER invoicing_creditnote_guard BEFORE UPDATE OR DELETE ON invoicing_creditnote
    FOR EACH ROW EXECUTE FUNCTION invoicing_creditnote_guard();

CREATE OR REPLACE FUNCTION invoicing_creditnoteline_guard() RETURNS trigger AS $$
DECLARE
    note_id bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        note_id := OLD.credit_note_id;
    ELSE
        note_id := NEW.credit_note_id;
    END IF;
    IF EXISTS (SELECT 1 FROM invoicing_creditnote c WHERE c.id = note_id AND c.status <> 'draft')
       AND (TG_OP <> 'UPDATE' OR {_changed(CREDIT_LINE_FROZEN)}) THEN
        RAISE EXCEPTION 'lines of a posted credit note cannot be changed' USING ERRCODE = '23001';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER invoicing_creditnoteline_guard BEFORE INSERT OR UPDATE OR DELETE ON invoicing_creditnoteline
    FOR EACH ROW EXECUTE FUNCTION invoicing_creditnoteline_guard();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS invoicing_creditnoteline_guard ON invoicing_creditnoteline;
DROP FUNCTION IF EXISTS invoicing_creditnoteline_guard();
DROP TRIGGER IF EXISTS invoicing_creditnote_guard ON invoicing_creditnote;
DROP FUNCTION IF EXISTS invoicing_creditnote_guard();
DROP TRIGGER IF EXISTS invoicing_invoiceline_guard_insert ON invoicing_invoiceline;
DROP TRIGGER IF EXISTS invoicing_invoiceline_guard_update ON invoicing_invoiceline;
DROP TRIGGER IF EXISTS invoicing_invoiceline_guard_delete ON invoicing_invoiceline;
DROP FUNCTION IF EXISTS invoicing_invoiceline_guard();
DROP TRIGGER IF EXISTS invoicing_invoice_guard ON invoicing_invoice;
DROP FUNCTION IF EXISTS invoicing_invoice_guard();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FORWARD)  # no parameters: the % of RAISE messages stay as written


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
