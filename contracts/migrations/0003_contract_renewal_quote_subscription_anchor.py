import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contracts', '0002_initial'),
        ('quotes', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='contract',
            name='renewal_quote',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='renewal_of', to='quotes.quote', verbose_name='renewal quote'),
        ),
        migrations.AddField(
            model_name='order',
            name='amendment_type',
            field=models.CharField(blank=True, choices=[('add_quantity', 'Add quantity'), ('reduce_quantity', 'Reduce quantity'), ('add_product', 'Add a product'), ('change_price', 'Change price'), ('cancel_subscription', 'Cancel a subscription'), ('cancel_contract', 'Cancel the contract')], max_length=24, verbose_name='amendment'),
        ),
        migrations.AddField(
            model_name='subscription',
            name='period_anchor',
            field=models.DateField(blank=True, help_text="The day the billing period grid is anchored on (the contract's start); blank = start date.", null=True, verbose_name='period anchor'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.UniqueConstraint(condition=models.Q(('type', 'renewal')), fields=('contract',), name='order_one_renewal_per_contract'),
        ),
    ]
