"""The graph explorer's indexes: a node's edges best first (by head, by tail, by tail and relation or category),
and, on PostgreSQL, a trigram index for substring search of node labels (pg_trgm; SQLite scans instead)."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models
from django.db.models.functions import Coalesce

RANK = Coalesce(models.F("score"), models.Value(-1.0))

LABEL_TRIGRAM_INDEX = "node_label_trgm"


def label_trigram_index_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {LABEL_TRIGRAM_INDEX} ON curation_graphnode "
            "USING gin (upper(label) gin_trgm_ops)"
        )


def label_trigram_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {LABEL_TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("curation", "0007_batch_member_stratum_required"),
        ("knowledge", "0011_ingest_run_files_removed_at"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="acceptededge",
            index=models.Index(models.F("head"), RANK.desc(), models.F("id").desc(), name="edge_head_rank"),
        ),
        migrations.AddIndex(
            model_name="acceptededge",
            index=models.Index(models.F("tail"), RANK.desc(), models.F("id").desc(), name="edge_tail_rank"),
        ),
        migrations.AddIndex(
            model_name="acceptededge",
            index=models.Index(
                models.F("tail"), models.F("relation"), RANK.desc(), models.F("id").desc(), name="edge_tail_relation_rank"
            ),
        ),
        migrations.AddIndex(
            model_name="acceptededge",
            index=models.Index(
                models.F("tail"), models.F("category"), RANK.desc(), models.F("id").desc(), name="edge_tail_category_rank"
            ),
        ),
        TrigramExtension(),  # does nothing on SQLite
        migrations.RunPython(label_trigram_index_create, label_trigram_index_drop, elidable=False),
    ]
