"""Question wordings for co-purchases and plain heads (issue 20): "Relevant?" asked "about this search and this
product" of two products bought together, which have no search. The general wording stays the search's."""

from django.db import migrations

# (question slug, kind, template, help text)
WORDINGS = [
    ("relevant", "co_buy", "Is “{statement}” about these two products bought together?",
     "It talks about the two products and why someone would buy them together, not something else."),
    ("relevant", "plain", "Is “{statement}” about this subject?",
     "It talks about the subject shown above, not something else."),
    ("informative", "co_buy", "Does “{statement}” say more than the two product titles?",
     "It adds knowledge; it does not just repeat the titles."),
    ("informative", "plain", "Does “{statement}” say more than the subject itself?",
     "It adds knowledge; it does not just repeat the subject."),
    ("plausible", "co_buy", "Is “{statement}” a plausible reason for buying these two products together?",
     "It could be true."),
    ("plausible", "plain", "Is “{statement}” plausible?", "It could be true."),
    ("typical", "co_buy", "Is “{statement}” a typical reason people buy these two products together?",
     "Many shoppers would buy them together for this reason."),
    ("typical", "plain", "Is “{statement}” typical?", "It is true in most cases, not only now and then."),
]


def seed(apps, schema_editor):
    Question = apps.get_model("annotation", "Question")
    QuestionWording = apps.get_model("annotation", "QuestionWording")
    questions = {q.slug: q for q in Question.objects.filter(slug__in={w[0] for w in WORDINGS})}
    for slug, kind, template, help_text in WORDINGS:
        if slug in questions:
            QuestionWording.objects.get_or_create(
                question=questions[slug],
                relation=None,
                behaviour_kind=kind,
                defaults={"template": template, "help_text": help_text},
            )


def unseed(apps, schema_editor):
    apps.get_model("annotation", "QuestionWording").objects.filter(relation__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("annotation", "0006_question_wording_per_kind"), ("annotation", "0002_seed_questions")]
    operations = [migrations.RunPython(seed, unseed)]
