# The outbox moved to core (see core/migrations/0001): the knowledge app forgets the model, the table stays.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('knowledge', '0008_outbox'),
        ('core', '0001_outbox_from_knowledge'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='OutboxMessage')],
            database_operations=[],
        ),
    ]
