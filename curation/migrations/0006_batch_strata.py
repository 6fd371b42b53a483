"""Issue 20: review batches hold strata. Every existing batch becomes one stratum (its relation, category, score band
and audit counts), and its members point to it; the next migration makes the link required."""

import django.db.models.deletion
import django.db.models.expressions
from django.conf import settings
from django.db import migrations, models


def one_stratum_per_batch(apps, schema_editor):
    """Set-based: one INSERT of strata from the batches, one UPDATE of the members (no row-by-row loop)."""
    ReviewBatch = apps.get_model("curation", "ReviewBatch")
    BatchStratum = apps.get_model("curation", "BatchStratum")
    BatchMember = apps.get_model("curation", "BatchMember")
    fields = ("id", "relation_id", "category_id", "relation__slug", "category__name", "score_low", "score_high",
              "size", "audit_size", "audit_yes", "audit_no")
    rows = ReviewBatch.objects.values_list(*fields).iterator(chunk_size=5000)
    strata = []
    for pk, relation, category, slug, name, low, high, size, audit_size, yes, no in rows:
        label = " · ".join(part for part in (slug, name) if part)
        strata.append(
            BatchStratum(batch_id=pk, relation_id=relation, category_id=category, label=label[:300], score_low=low,
                         score_high=high, size=size, audit_size=audit_size, audit_yes=yes, audit_no=no)
        )
    BatchStratum.objects.bulk_create(strata, batch_size=5000)
    first = BatchStratum.objects.filter(batch_id=models.OuterRef("batch_id")).order_by("id").values("id")[:1]
    BatchMember.objects.filter(stratum__isnull=True).update(stratum_id=models.Subquery(first))


class Migration(migrations.Migration):

    dependencies = [
        ('curation', '0005_export_format_csv'),
        ('knowledge', '0011_ingest_run_files_removed_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='reviewbatch',
            name='relation',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='knowledge.relation'),
        ),
        migrations.CreateModel(
            name='BatchStratum',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('category_count', models.PositiveIntegerField(default=1, help_text='How many categories the stratum holds (more than 1: small categories merged).')),
                ('label', models.CharField(help_text='What the stratum holds, for people (relation, category).', max_length=300)),
                ('score_low', models.FloatField()),
                ('score_high', models.FloatField()),
                ('size', models.PositiveIntegerField(default=0)),
                ('audit_size', models.PositiveIntegerField(default=0)),
                ('audit_yes', models.PositiveIntegerField(default=0)),
                ('audit_no', models.PositiveIntegerField(default=0)),
                ('excluded', models.BooleanField(default=False, help_text='Dropped by the curator when the batch was approved: its candidates went back.')),
                ('batch', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='strata', to='curation.reviewbatch')),
                ('category', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='knowledge.category')),
                ('relation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='knowledge.relation')),
            ],
            options={
                'ordering': ['batch', 'id'],
            },
        ),
        migrations.AddField(
            model_name='batchmember',
            name='stratum',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='members', to='curation.batchstratum'),
        ),
        migrations.AddIndex(
            model_name='batchmember',
            index=models.Index(fields=['stratum', 'in_audit'], name='member_stratum_audit'),
        ),
        migrations.AddConstraint(
            model_name='batchstratum',
            constraint=models.CheckConstraint(condition=models.Q(('audit_yes__lte', django.db.models.expressions.CombinedExpression(models.F('audit_size'), '-', models.F('audit_no')))), name='stratum_answers_within_sample'),
        ),
        migrations.RunPython(one_stratum_per_batch, migrations.RunPython.noop),
    ]
