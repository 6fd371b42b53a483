"""Seed the relation catalogue with COSMO's relation set (admins may edit or add relations later)."""

from django.db import migrations

RELATIONS = [
    ("used_for_function", "Used for (function)", "What the product does for the buyer.", "{head} is used for {tail}"),
    ("used_for_event", "Used for (event)", "An occasion or activity the product serves.", "{head} is used during {tail}"),
    ("used_for_audience", "Used for (audience)", "The people the product is meant for.", "{head} is meant for {tail}"),
    ("capable_of", "Capable of", "Something the product can do.", "{head} can {tail}"),
    ("used_to", "Used to", "A purpose, stated as a verb phrase.", "{head} is used to {tail}"),
    ("used_as", "Used as", "A role the product plays.", "{head} is used as {tail}"),
    ("is_a", "Is a", "What kind of thing the product is.", "{head} is a {tail}"),
    ("used_on", "Used on", "A thing or surface the product is used on.", "{head} is used on {tail}"),
    ("used_in_location", "Used in (location)", "A place where the product is used.", "{head} is used in {tail}"),
    ("used_in_body", "Used in (body)", "A part of the body the product is used on.", "{head} is used on the {tail}"),
    ("used_with", "Used with", "Another product it is used together with.", "{head} is used with {tail}"),
    ("used_by", "Used by", "Who uses the product.", "{head} is used by {tail}"),
    ("x_interested_in", "Buyer is interested in", "An interest of the person who buys it.",
     "someone who buys {head} is interested in {tail}"),
    ("x_is_a", "Buyer is a", "What the person who buys it is.", "someone who buys {head} is {tail}"),
    ("x_want", "Buyer wants", "What the person who buys it wants.", "someone who buys {head} wants {tail}"),
]


def seed(apps, schema_editor):
    Relation = apps.get_model("knowledge", "Relation")
    for slug, label, description, template in RELATIONS:
        Relation.objects.update_or_create(
            slug=slug, defaults={"label": label, "description": description, "sentence_template": template}
        )


def unseed(apps, schema_editor):
    apps.get_model("knowledge", "Relation").objects.filter(slug__in=[r[0] for r in RELATIONS]).delete()


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
