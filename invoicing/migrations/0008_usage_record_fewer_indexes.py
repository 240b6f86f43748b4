# Usage records keep only the indexes a query uses: each index is written for every record a feed
# sends. The subscription's own index is covered by the unique key and the (subscription,
# business_date) index; the rated entry is indexed only where set; the batch without a LIKE index.
# The indexes are dropped by name, not through AlterField: that would drop and re-validate the
# foreign keys, a scan of the whole table.

import django.db.models.deletion
from django.db import migrations, models

DROPPED = [
    ("invoicing_usagerecord_subscription_id_c600f176", "subscription_id"),
    ("invoicing_usagerecord_rated_entry_id_82ad714a", "rated_entry_id"),
    ("invoicing_usagerecord_ingest_batch_4bc0eab4", "ingest_batch"),
]


class Migration(migrations.Migration):

    dependencies = [
        ('contracts', '0005_merge_20261130_1927'),
        ('customers', '0001_initial'),
        ('invoicing', '0007_merge_20261130_1953'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='usagerecord',
                    name='ingest_batch',
                    field=models.CharField(blank=True, max_length=32, verbose_name='import batch'),
                ),
                migrations.AlterField(
                    model_name='usagerecord',
                    name='rated_entry',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='usage_records', to='contracts.scheduleentry', verbose_name='rated in'),
                ),
                migrations.AlterField(
                    model_name='usagerecord',
                    name='subscription',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='usage_records', to='contracts.subscription', verbose_name='subscription'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{name}"' for name, _column in DROPPED]
                    + ['DROP INDEX IF EXISTS "invoicing_usagerecord_ingest_batch_4bc0eab4_like"'],
                    reverse_sql=[f'CREATE INDEX "{name}" ON "invoicing_usagerecord" ("{column}")' for name, column in DROPPED],
                ),
            ],
        ),
        migrations.AddIndex(
            model_name='usagerecord',
            index=models.Index(condition=models.Q(('rated_entry__isnull', False)), fields=['rated_entry'], name='usage_rated_entry_idx'),
        ),
        migrations.AddIndex(
            model_name='usagerecord',
            index=models.Index(fields=['ingest_batch'], name='usage_ingest_batch_idx'),
        ),
    ]
