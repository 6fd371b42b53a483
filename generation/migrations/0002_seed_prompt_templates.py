from django.db import migrations

from generation.llm.prompts import DEFAULT_TEMPLATES


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    Relation = apps.get_model("knowledge", "Relation")
    PromptTemplate = apps.get_model("generation", "PromptTemplate")
    for relation in Relation.objects.all():
        for head_kind, text in DEFAULT_TEMPLATES.items():
            PromptTemplate.objects.get_or_create(
                relation=relation, head_kind=head_kind, version=1, defaults={"text": text, "is_active": True}
            )


class Migration(migrations.Migration):
    dependencies = [("generation", "0001_initial"), ("knowledge", "0002_seed_relations")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
