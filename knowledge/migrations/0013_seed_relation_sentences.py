"""Seed a statement per relation and kind of head (issue 20): "wants to ...", "is used for ...", "is capable of
...", grammatical whatever the tail's shape (see knowledge.sentences). A relation without one for a kind (one an
admin adds later) keeps reading with its ``sentence_template``."""

from django.db import migrations

# slug: (plain, search_buy, co_buy)
SENTENCES = {
    "used_for_function": (
        "{head} is used for {tail_noun}",
        "{product} is used for {tail_noun}",
        "{product} and {other_product} are used together for {tail_noun}",
    ),
    "used_for_event": (
        "{head} is used during {tail_noun}",
        "{product} is used during {tail_noun}",
        "{product} and {other_product} are used together during {tail_noun}",
    ),
    "used_for_audience": (
        "{head} is meant for {tail_noun}",
        "{product} is meant for {tail_noun}",
        "{product} and {other_product} are meant for {tail_noun}",
    ),
    "capable_of": (
        "{head} is capable of {tail_noun}",
        "{product} is capable of {tail_noun}",
        "Together, {product} and {other_product} are capable of {tail_noun}",
    ),
    "used_to": (
        "{head} is used {for_tail}",
        "{product} is used {for_tail}",
        "{product} and {other_product} are used together {for_tail}",
    ),
    "used_as": (
        "{head} is used as {tail_noun}",
        "{product} is used as {tail_noun}",
        "{product} and {other_product} are used together as {tail_noun}",
    ),
    "is_a": (
        "{head} is a kind of {tail_bare}",
        "{product} is a kind of {tail_bare}",
        "{product} and {other_product} are both a kind of {tail_bare}",
    ),
    "used_on": (
        "{head} is used on {tail_noun}",
        "{product} is used on {tail_noun}",
        "{product} and {other_product} are used together on {tail_noun}",
    ),
    "used_in_location": (
        "{head} is used in {tail_noun}",
        "{product} is used in {tail_noun}",
        "{product} and {other_product} are used together in {tail_noun}",
    ),
    "used_in_body": (
        "{head} is used on the {tail_bare}",
        "{product} is used on the {tail_bare}",
        "{product} and {other_product} are used on the {tail_bare}",
    ),
    "used_with": (
        "{head} is used with {tail_noun}",
        "{product} is used with {tail_noun}",
        "{product} and {other_product} are used with {tail_noun}",
    ),
    "used_by": (
        "{head} is used by {tail_noun}",
        "{product} is used by {tail_noun}",
        "{product} and {other_product} are used by {tail_noun}",
    ),
    "x_interested_in": (
        "Someone who buys {head} is interested in {tail_noun}",
        "Someone who searches for {query} and buys {product} is interested in {tail_noun}",
        "Someone who buys {product} together with {other_product} is interested in {tail_noun}",
    ),
    "x_is_a": (
        "Someone who buys {head} is {tail_noun}",
        "Someone who searches for {query} and buys {product} is {tail_noun}",
        "Someone who buys {product} together with {other_product} is {tail_noun}",
    ),
    "x_want": (
        "Someone who buys {head} wants {to_tail}",
        "Someone who searches for {query} and buys {product} wants {to_tail}",
        "Someone who buys {product} together with {other_product} wants {to_tail}",
    ),
}
KINDS = ("plain", "search_buy", "co_buy")

def seed(apps, schema_editor):
    Relation = apps.get_model("knowledge", "Relation")
    RelationSentence = apps.get_model("knowledge", "RelationSentence")
    for relation in Relation.objects.filter(slug__in=SENTENCES):
        templates = SENTENCES[relation.slug]
        for kind, template in zip(KINDS, templates, strict=True):
            RelationSentence.objects.get_or_create(
                relation=relation, behaviour_kind=kind, defaults={"template": template}
            )


def unseed(apps, schema_editor):
    apps.get_model("knowledge", "RelationSentence").objects.filter(relation__slug__in=SENTENCES).delete()


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0012_relation_sentences")]
    operations = [migrations.RunPython(seed, unseed)]
