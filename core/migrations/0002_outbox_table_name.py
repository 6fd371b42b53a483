# Rename knowledge_outboxmessage to core_outboxmessage (rows, index and sequence are kept).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_outbox_from_knowledge'),
        ('knowledge', '0009_outbox_to_core'),
    ]

    operations = [
        migrations.AlterModelTable(name='outboxmessage', table=None),
    ]
