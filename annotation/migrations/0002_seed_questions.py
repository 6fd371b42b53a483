"""COSMO's yes/no questions in their order; admins may edit the wording or add per-relation wordings."""

from django.db import migrations

QUESTIONS = [
    ("complete", 1, "Complete?", "Is “{statement}” a complete, understandable statement?",
     "A full sentence that makes sense on its own, not cut off."),
    ("relevant", 2, "Relevant?", "Is “{statement}” about this search and this product?",
     "It talks about what the shopper searched for and bought, not something else."),
    ("informative", 3, "Informative?", "Does “{statement}” say more than the product title?",
     "It adds knowledge; it does not just repeat the query or the title."),
    ("plausible", 4, "Plausible?", "Is “{statement}” a plausible reason for this purchase?",
     "It could be true."),
    ("typical", 5, "Typical?", "Is “{statement}” a typical reason people buy this?",
     "Many shoppers would buy it for this reason."),
]


def seed(apps, schema_editor):
    Question = apps.get_model("annotation", "Question")
    for slug, order, label, template, help_text in QUESTIONS:
        Question.objects.update_or_create(
            slug=slug, defaults={"order": order, "label": label, "template": template, "help_text": help_text}
        )


def unseed(apps, schema_editor):
    apps.get_model("annotation", "Question").objects.filter(slug__in=[q[0] for q in QUESTIONS]).delete()


class Migration(migrations.Migration):
    dependencies = [("annotation", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
