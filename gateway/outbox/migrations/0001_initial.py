# The outbox model, moved here from the ``orders`` app: its table was created by
# orders.0001 and stays (``db_table``). State only: no data moves.

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('orders', '0003_outbox_to_its_own_app'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='OutboxMessage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('topic', models.CharField(max_length=128)),
                        ('key', models.BinaryField()),
                        ('value', models.BinaryField()),
                        ('headers', models.JSONField(default=list)),
                        ('created_at', models.DateTimeField()),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'orders_outboxmessage',
                        'indexes': [models.Index(condition=models.Q(('sent_at__isnull', True)), fields=['id'], name='outbox_unsent')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
