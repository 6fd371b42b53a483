"""Status changes become heap-only updates (issue 22): the (status, relation) index goes, and on PostgreSQL the
candidate table leaves half of each page free (fillfactor 50) for the new row versions.

The fillfactor applies to pages written from now on; an existing large table gets it everywhere with ``VACUUM FULL
knowledge_candidate`` (or ``CLUSTER``) in a maintenance window (docs/operations.md).
"""

from django.db import migrations


def _fillfactor(value: int | None):
    def apply(apps, schema_editor):  # noqa: ANN001, ANN202 (the migration API's signature)
        if schema_editor.connection.vendor != "postgresql":
            return
        setting = f"SET (fillfactor = {int(value)})" if value is not None else "RESET (fillfactor)"
        schema_editor.execute(f"ALTER TABLE knowledge_candidate {setting}")

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0014_candidate_fewer_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="candidate", name="candidate_status_relation"),
        migrations.RunPython(_fillfactor(50), _fillfactor(None), elidable=False),
    ]
