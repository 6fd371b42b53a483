"""A seeded, realistic labelled set for ``benchmarks/learning.py``: search-buy candidates with known answers.

    python benchmarks/learning_data.py [--candidates 6000] [--seed 21] [--out var/learning.jsonl.gz]

Standard-library Python, no Django; a seed always gives the same file (gzip with mtime 0). Made by us for the
benchmark, not taken from any public set. What makes it realistic for the loop (docs/annotation.md, "The
learning benchmark's data"):

* **Labels depend on head, relation and tail together.** Each category has intentions of a few *kinds* (a
  function, an event, an audience, a location, a desire); a tail is plausible for a product when its intention
  belongs to the product's category *and* the relation fits the intention's kind (``used_for_event`` with an
  event, ``x_want`` with a desire...). Neither the head nor the tail alone decides: the same tail is plausible
  after one product and implausible after another, and after the same product under another relation.
* **Typicality** is a subset of plausibility: the category's core intentions are typical, its secondary ones
  rarely.
* **Skewed relations**: relations are drawn with Zipf-like weights (the first is about 12 times as frequent as
  the last), and categories unevenly.
* **Gates**: about 4% of tails are truncated (``complete`` No), 4% are about another product line entirely
  (``relevant`` No) and 5% are generic (``informative`` No); a candidate failing a gate is neither plausible nor
  typical.
* **Ties and noise in the truth**: 8% of candidates are borderline (an intention of a neighbouring category,
  plausible by a coin flip), and 3% of the labels are flipped, so no model reaches an AUC of 1.
* Several candidates share a behaviour pair (a query and a product), so splits must be grouped by pair.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path

DEFAULT_SEED = 21
DEFAULT_CANDIDATES = 6000

# relation -> the kind of intention it fits
RELATIONS: list[tuple[str, str]] = [
    ("used_for_function", "function"),
    ("capable_of", "function"),
    ("x_want", "desire"),
    ("used_for_event", "event"),
    ("used_for_audience", "audience"),
    ("used_in_location", "location"),
    ("used_to", "function"),
    ("x_interested_in", "desire"),
]

# category -> kind -> (core intentions, secondary intentions)
INTENTIONS: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "Outdoor": {
        "function": (["keep rain out of a tent", "stay warm at night outdoors"], ["dry wet socks by a fire"]),
        "event": (["a weekend camping trip", "a mountain hike"], ["a backyard sleepover"]),
        "audience": (["hikers", "campers"], ["scout troops"]),
        "location": (["a campsite", "a mountain trail"], ["a festival field"]),
        "desire": (["go camping with friends", "sleep under the stars"], ["try wild swimming"]),
    },
    "Kitchen": {
        "function": (["chop vegetables quickly", "keep coffee hot"], ["crack walnuts"]),
        "event": (["a family dinner", "a holiday bake"], ["a picnic lunch"]),
        "audience": (["home cooks", "bakers"], ["students in a dorm"]),
        "location": (["a small kitchen", "a restaurant line"], ["an office pantry"]),
        "desire": (["cook healthier meals", "bake bread at home"], ["host a dinner party"]),
    },
    "Baby": {
        "function": (["soothe a teething baby", "keep a baby asleep"], ["warm a bottle at night"]),
        "event": (["a baby shower", "a first birthday"], ["a long car ride"]),
        "audience": (["new parents", "newborns"], ["grandparents"]),
        "location": (["a nursery", "a stroller"], ["a daycare"]),
        "desire": (["get more sleep", "keep the baby safe"], ["travel with a toddler"]),
    },
    "Fitness": {
        "function": (["track a running pace", "build arm strength"], ["stretch sore calves"]),
        "event": (["a marathon", "a yoga class"], ["a charity walk"]),
        "audience": (["runners", "gym goers"], ["physiotherapy patients"]),
        "location": (["a home gym", "a running track"], ["a hotel room"]),
        "desire": (["lose weight", "train for a race"], ["fix posture"]),
    },
    "Electronics": {
        "function": (["charge a phone on the go", "stream music wirelessly"], ["back up photos"]),
        "event": (["a long flight", "a gaming night"], ["a video conference"]),
        "audience": (["gamers", "commuters"], ["remote workers"]),
        "location": (["a home office", "a car dashboard"], ["a dorm room"]),
        "desire": (["watch movies in bed", "work from anywhere"], ["record a podcast"]),
    },
    "Garden": {
        "function": (["water the plants evenly", "trim the hedges"], ["keep slugs away"]),
        "event": (["spring planting", "a garden party"], ["an allotment show"]),
        "audience": (["gardeners", "landscapers"], ["balcony growers"]),
        "location": (["a vegetable patch", "a greenhouse"], ["a rooftop terrace"]),
        "desire": (["grow tomatoes", "keep the lawn green"], ["attract bees"]),
    },
    "Pets": {
        "function": (["keep a dog's coat clean", "stop a cat scratching furniture"], ["clean fish tank glass"]),
        "event": (["a dog show", "a vet visit"], ["a house move with pets"]),
        "audience": (["dog owners", "cat owners"], ["pet sitters"]),
        "location": (["a dog park", "a cat tree corner"], ["a car boot"]),
        "desire": (["train a puppy", "keep the cat entertained"], ["walk the dog at night"]),
    },
    "Fashion": {
        "function": (["keep feet dry in snow", "stay warm in winter"], ["hide a stain"]),
        "event": (["a wedding", "a job interview"], ["a costume party"]),
        "audience": (["office workers", "teenagers"], ["pregnant women"]),
        "location": (["a ski resort", "an office"], ["a beach bar"]),
        "desire": (["look smart at work", "dress for the cold"], ["match an outfit"]),
    },
}
NEIGHBOURS = {
    "Outdoor": "Fitness",
    "Fitness": "Outdoor",
    "Kitchen": "Garden",
    "Garden": "Kitchen",
    "Baby": "Pets",
    "Pets": "Baby",
    "Fashion": "Electronics",
    "Electronics": "Fashion",
}
PRODUCTS: dict[str, list[str]] = {
    "Outdoor": ["Trailblazer Tent", "Summit Sleeping Bag", "Ridge Headlamp", "Canyon Backpack", "Camp Stove"],
    "Kitchen": ["Chef Knife Set", "Thermal Carafe", "Stand Mixer", "Cast Iron Skillet", "Bread Proofing Basket"],
    "Baby": ["Teething Ring", "White Noise Machine", "Baby Monitor", "Swaddle Blanket", "Bottle Warmer"],
    "Fitness": ["GPS Running Watch", "Adjustable Dumbbells", "Yoga Mat", "Foam Roller", "Resistance Bands"],
    "Electronics": ["Power Bank", "Bluetooth Speaker", "Noise Cancelling Headphones", "Tablet Stand", "Webcam"],
    "Garden": ["Soaker Hose", "Hedge Trimmer", "Seed Tray Kit", "Garden Kneeler", "Compost Bin"],
    "Pets": ["Dog Shampoo", "Cat Scratching Post", "Puppy Training Treats", "Cat Laser Toy", "Dog Harness"],
    "Fashion": ["Waterproof Boots", "Wool Coat", "Slim Fit Blazer", "Thermal Gloves", "Leather Belt"],
}
QUERY_WORDS = ["best", "cheap", "gift", "durable", "lightweight", "for beginners", "premium", "compact", "sale"]
GENERIC_TAILS = ["use it", "have one", "buy a product", "own this item", "get something"]
TRUNCATED = ["keep the", "go to a", "use with the", "make it", "for the"]
CATEGORY_WEIGHTS = [1.6, 1.3, 1.1, 1.0, 1.0, 0.8, 0.7, 0.5]


def _relation_weights() -> list[float]:
    return [1.0 / (rank + 1) ** 1.2 for rank in range(len(RELATIONS))]


def generate(*, candidates: int = DEFAULT_CANDIDATES, seed: int = DEFAULT_SEED) -> list[dict[str, object]]:
    """The lines of the set (ingest format, docs/formats.md), with their known ``labels``."""
    rng = random.Random(seed)
    categories = list(INTENTIONS)
    products = [
        (f"L{index:04d}", f"{name}, {variant}", category)
        for category in categories
        for index_in, name in enumerate(PRODUCTS[category])
        for variant in ("standard", "pro", "mini")
        for index in [categories.index(category) * 100 + index_in * 3 + ("standard", "pro", "mini").index(variant)]
    ]
    by_category = {category: [p for p in products if p[2] == category] for category in categories}
    pairs: list[tuple[str, tuple[str, str, str]]] = []
    for _ in range(max(candidates // 4, 1)):
        category = rng.choices(categories, weights=CATEGORY_WEIGHTS)[0]
        product = rng.choice(by_category[category])
        query = f"{rng.choice(QUERY_WORDS)} {product[1].split(',')[0].lower()}"
        pairs.append((query, product))
    lines: list[dict[str, object]] = []
    seen: set[tuple[str, str, str, str]] = set()
    relation_weights = _relation_weights()
    while len(lines) < candidates:
        query, (product_id, title, category) = rng.choice(pairs)
        relation, fits = rng.choices(RELATIONS, weights=relation_weights)[0]
        labels, tail = _draw(rng, category, fits, categories)
        key = (query, product_id, relation, tail)
        if key in seen:
            continue
        seen.add(key)
        lines.append(
            {
                "kind": "search_buy",
                "query": query,
                "product": {"id": product_id, "title": title, "category": category},
                "relation": relation,
                "tail": tail,
                "generator": "learning-benchmark",
                "labels": labels,
            }
        )
    return lines


def _draw(rng: random.Random, category: str, fits: str, categories: list[str]) -> tuple[dict[str, bool], str]:
    """A tail for a product of ``category`` under a relation that fits ``fits``, and its known answers."""
    labels = {"complete": True, "relevant": True, "informative": True, "plausible": False, "typical": False}
    roll = rng.random()
    if roll < 0.04:
        labels["complete"] = False
        return labels, rng.choice(TRUNCATED)
    if roll < 0.08:
        other = rng.choice([c for c in categories if c not in (category, NEIGHBOURS[category])])
        labels["relevant"] = False
        kind = rng.choice(list(INTENTIONS[other]))
        return labels, rng.choice(INTENTIONS[other][kind][0])
    if roll < 0.13:
        labels["informative"] = False
        return labels, rng.choice(GENERIC_TAILS)
    source = category
    borderline = roll < 0.21
    if borderline:
        source = NEIGHBOURS[category]
    elif rng.random() < 0.35:
        source = rng.choice(categories)  # an intention of any category: implausible unless it is this one
    kind = fits if rng.random() < 0.55 else rng.choice(list(INTENTIONS[source]))
    core, secondary = INTENTIONS[source][kind]
    is_core = rng.random() < 0.65
    tail = rng.choice(core if is_core else secondary)
    plausible = kind == fits and rng.random() < 0.5 if borderline else source == category and kind == fits
    typical = plausible and (is_core or rng.random() < 0.15)
    if rng.random() < 0.03:
        plausible = not plausible
        typical = plausible and typical
    labels["plausible"], labels["typical"] = plausible, typical
    return labels, tail


def write(lines: list[dict[str, object]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        for line in lines:
            handle.write(json.dumps(line, sort_keys=True).encode() + b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=DEFAULT_CANDIDATES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=Path("var/learning.jsonl.gz"))
    args = parser.parse_args()
    lines = generate(candidates=args.candidates, seed=args.seed)
    write(lines, args.out)
    plausible = sum(1 for line in lines if line["labels"]["plausible"])  # type: ignore[index,misc]
    print(f"{len(lines)} candidates ({plausible} plausible) -> {args.out}")


if __name__ == "__main__":
    main()
