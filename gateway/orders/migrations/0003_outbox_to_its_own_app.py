# The outbox model moved to the ``outbox`` app; its table stays where it is
# (``orders_outboxmessage``, now named by ``db_table``). State only: no data moves.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0002_notification'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='OutboxMessage')],
            database_operations=[],
        ),
    ]
