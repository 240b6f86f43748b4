# Schedule entries: one composite foreign key, (subscription, contract, account) → subscription (id,
# contract, account), checks the subscription and the contract and account the entry copies; it
# replaces three single-column keys, so each new row costs one check instead of three. The contract
# and bill-on indexes go (the (contract, period_start) and schedule_due_idx indexes serve them); the
# credit and cancellation indexes become partial (most entries have neither).
#
# On PostgreSQL the changes are made by name: AlterField would drop and re-add (re-validate) the
# foreign keys it keeps, a scan of the whole table each. SQLite gets the new indexes and the unique
# key; its old single-column keys and indexes stay (valid, and SQLite cannot add a constraint to an
# existing table without rebuilding it).

import django.db.models.deletion
from django.db import migrations, models

FORWARD_POSTGRESQL = """
ALTER TABLE contracts_subscription ADD CONSTRAINT subscription_contract_account UNIQUE (id, contract_id, account_id);
ALTER TABLE contracts_scheduleentry
    DROP CONSTRAINT contracts_scheduleen_subscription_id_b094af4c_fk_contracts,
    DROP CONSTRAINT contracts_scheduleen_contract_id_9adafe6f_fk_contracts,
    DROP CONSTRAINT contracts_scheduleen_account_id_875983ef_fk_customers;
ALTER TABLE contracts_scheduleentry ADD CONSTRAINT schedule_subscription_contract_account_fk
    FOREIGN KEY (subscription_id, contract_id, account_id)
    REFERENCES contracts_subscription (id, contract_id, account_id) DEFERRABLE INITIALLY DEFERRED NOT VALID;
ALTER TABLE contracts_scheduleentry VALIDATE CONSTRAINT schedule_subscription_contract_account_fk;
DROP INDEX contracts_scheduleentry_contract_id_9adafe6f;
DROP INDEX contracts_scheduleentry_bill_on_f11ca0a8;
DROP INDEX contracts_scheduleentry_credits_id_ab8b1a0e;
DROP INDEX contracts_scheduleentry_cancelled_by_id_494b8923;
CREATE INDEX schedule_credits_idx ON contracts_scheduleentry (credits_id) WHERE credits_id IS NOT NULL;
CREATE INDEX schedule_cancelled_by_idx ON contracts_scheduleentry (cancelled_by_id) WHERE cancelled_by_id IS NOT NULL;
"""
BACKWARD_POSTGRESQL = """
DROP INDEX schedule_credits_idx;
DROP INDEX schedule_cancelled_by_idx;
CREATE INDEX contracts_scheduleentry_contract_id_9adafe6f ON contracts_scheduleentry (contract_id);
CREATE INDEX contracts_scheduleentry_bill_on_f11ca0a8 ON contracts_scheduleentry (bill_on);
CREATE INDEX contracts_scheduleentry_credits_id_ab8b1a0e ON contracts_scheduleentry (credits_id);
CREATE INDEX contracts_scheduleentry_cancelled_by_id_494b8923 ON contracts_scheduleentry (cancelled_by_id);
ALTER TABLE contracts_scheduleentry DROP CONSTRAINT schedule_subscription_contract_account_fk;
ALTER TABLE contracts_scheduleentry
    ADD CONSTRAINT contracts_scheduleen_subscription_id_b094af4c_fk_contracts FOREIGN KEY (subscription_id)
        REFERENCES contracts_subscription (id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT contracts_scheduleen_contract_id_9adafe6f_fk_contracts FOREIGN KEY (contract_id)
        REFERENCES contracts_contract (id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT contracts_scheduleen_account_id_875983ef_fk_customers FOREIGN KEY (account_id)
        REFERENCES customers_account (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE contracts_subscription DROP CONSTRAINT subscription_contract_account;
"""
FORWARD_OTHER = [
    'CREATE UNIQUE INDEX subscription_contract_account ON contracts_subscription (id, contract_id, account_id)',
    'CREATE INDEX schedule_credits_idx ON contracts_scheduleentry (credits_id) WHERE credits_id IS NOT NULL',
    'CREATE INDEX schedule_cancelled_by_idx ON contracts_scheduleentry (cancelled_by_id) WHERE cancelled_by_id IS NOT NULL',
]
BACKWARD_OTHER = ['DROP INDEX schedule_cancelled_by_idx', 'DROP INDEX schedule_credits_idx', 'DROP INDEX subscription_contract_account']


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD_POSTGRESQL)
    else:
        for statement in FORWARD_OTHER:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD_POSTGRESQL)
    else:
        for statement in BACKWARD_OTHER:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0005_merge_20261130_1927'),
        ('contracts', '0005_merge_20261130_1927'),
        ('customers', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='scheduleentry',
                    name='account',
                    field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='schedule', to='customers.account', verbose_name='account'),
                ),
                migrations.AlterField(
                    model_name='scheduleentry',
                    name='bill_on',
                    field=models.DateField(verbose_name='bill on'),
                ),
                migrations.AlterField(
                    model_name='scheduleentry',
                    name='cancelled_by',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='cancelled_entries', to='contracts.order', verbose_name='cancelled by'),
                ),
                migrations.AlterField(
                    model_name='scheduleentry',
                    name='contract',
                    field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='schedule', to='contracts.contract', verbose_name='contract'),
                ),
                migrations.AlterField(
                    model_name='scheduleentry',
                    name='credits',
                    field=models.ForeignKey(blank=True, db_index=False, help_text='Credit entries: the billed charge whose time after the effective date they credit.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='credited_by', to='contracts.scheduleentry', verbose_name='credits'),
                ),
                migrations.AlterField(
                    model_name='scheduleentry',
                    name='subscription',
                    field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='schedule', to='contracts.subscription', verbose_name='subscription'),
                ),
                migrations.AddIndex(
                    model_name='scheduleentry',
                    index=models.Index(condition=models.Q(('credits__isnull', False)), fields=['credits'], name='schedule_credits_idx'),
                ),
                migrations.AddIndex(
                    model_name='scheduleentry',
                    index=models.Index(condition=models.Q(('cancelled_by__isnull', False)), fields=['cancelled_by'], name='schedule_cancelled_by_idx'),
                ),
                migrations.AddConstraint(
                    model_name='subscription',
                    constraint=models.UniqueConstraint(fields=('id', 'contract', 'account'), name='subscription_contract_account'),
                ),
                migrations.AlterField(
                    model_name='subscription',
                    name='scheduled_until',
                    field=models.DateField(blank=True, help_text='The schedule is written up to this day (evergreen, or a migrated contract scheduled months ahead); blank on a termed subscription: to its end.', null=True, verbose_name='scheduled until'),
                ),
            ],
            database_operations=[migrations.RunPython(forward, backward)],
        ),
    ]
