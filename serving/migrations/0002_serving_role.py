"""The serving role: a group whose members (search and recommendation clients) may read the serving API only."""

from django.db import migrations


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="serving")


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="serving").delete()


class Migration(migrations.Migration):
    dependencies = [("serving", "0001_serving_store"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_group, delete_group)]
