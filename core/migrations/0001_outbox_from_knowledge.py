# The outbox moved from the knowledge app to core (the ground floor). Its table and rows stay where they are:
# this migration only hands the model's state to core; 0002 then renames the table.

import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('knowledge', '0008_outbox'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='OutboxMessage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('task', models.CharField(max_length=200)),
                        ('args', models.JSONField(default=list)),
                        ('queue', models.CharField(blank=True, help_text="Empty: the task's route decides.", max_length=100)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('last_error', models.CharField(blank=True, max_length=300)),
                        ('created_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'knowledge_outboxmessage',
                        'indexes': [models.Index(condition=models.Q(('sent_at__isnull', True)), fields=['id'], name='outbox_pending')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
