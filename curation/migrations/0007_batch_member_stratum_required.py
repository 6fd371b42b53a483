"""Issue 20: every batch member belongs to a stratum (0006 gave the existing ones theirs)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('curation', '0006_batch_strata'),
    ]

    operations = [
        migrations.AlterField(
            model_name='batchmember',
            name='stratum',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='members', to='curation.batchstratum'),
        ),
    ]
