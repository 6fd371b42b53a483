#!/usr/bin/env python
"""COSMO-LM training throughput: examples/s and the time for 2,000 examples, LoRA on SmolLM2-135M-Instruct by default.

    flock /tmp/bench.lock python benchmarks/train_lm.py                      # 2,000 examples on this machine
    flock /tmp/bench.lock python benchmarks/train_lm.py --measure 200        # time 200, project 2,000
    python benchmarks/train_lm.py --data instructions.jsonl --device cuda    # a GPU machine, a real export

No Django and no database: the examples come from ``--data`` (an ``export_graph --format instructions`` file) or
are made here in the export's shape (search behaviours, generation and yes/no judgements). The model code is the
project's (``classifiers.ml.lm``): the same tokenisation, padding, loss masking and optimiser as ``train_lm``.
Printed: the device and threads, the load time, training examples/s, the seconds for the measured examples and
for 2,000 (projected when fewer were measured), P(yes) judgements/s, the machine's load and the CPU that other
processes used meanwhile (the machine is shared: compare figures taken under similar load).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = [
    "winter boots for women",
    "kids rain jacket",
    "camping stove",
    "yoga mat thick",
    "bluetooth speaker",
    "running shoes men",
    "baby bottle warmer",
    "dog leash reflective",
    "office chair lumbar",
    "ice cleats",
]
PRODUCTS = [
    "Waterproof insulated snow boot",
    "Lightweight packable rain jacket",
    "Portable butane camp stove",
    "Extra thick non-slip yoga mat",
    "Portable waterproof speaker",
    "Cushioned road running shoe",
    "Fast bottle warmer with timer",
    "Reflective nylon dog leash",
    "Ergonomic mesh office chair",
    "Anti-slip ice grips for shoes",
]
GOOD = [
    "keep feet warm in snow",
    "stay dry on the way to school",
    "cook a meal at a campsite",
    "practise yoga at home",
    "play music at the beach",
    "train for a marathon",
    "warm milk at night",
    "walk the dog after dark",
    "sit comfortably all day",
    "walk safely on icy paths",
]
BAD = ["bake a wedding cake", "repair a car engine", "paint the living room", "learn to play the violin"]
RELATIONS = ["used_for_function", "capable_of", "used_for_event", "used_for_audience"]


def synthetic_records(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """Export-shaped records: a quarter generation, the rest plausibility/typicality judgements (half yes)."""
    from classifiers.ml.lm.data import JUDGEMENT_INSTRUCTIONS, generation_instruction, judgement_input

    rng = random.Random(seed)
    records = []
    for i in range(count):
        pair = rng.randrange(len(QUERIES))
        behaviour = f'A shopper searched for "{QUERIES[pair]}" and bought "{PRODUCTS[pair]}".'
        relation = rng.choice(RELATIONS)
        head = {"head_key": f"pair:{pair}-{i % 97}", "relation": relation}
        if i % 4 == 0:
            records.append(
                {
                    "task": "generate",
                    "instruction": generation_instruction(relation),
                    "input": behaviour,
                    "output": GOOD[pair],
                    "candidate": i,
                    **head,
                }
            )
            continue
        task = "plausibility" if i % 2 else "typicality"
        yes = rng.random() < 0.5
        tail = GOOD[pair] if yes else rng.choice(BAD)
        records.append(
            {
                "task": task,
                "instruction": JUDGEMENT_INSTRUCTIONS[task],
                "input": judgement_input(behaviour, relation, tail),
                "output": "yes" if yes else "no",
                "candidate": i,
                **head,
            }
        )
    return records


def other_cpu_seconds() -> float:
    """CPU seconds used so far by every process but this one (psutil; 0 without it)."""
    try:
        import psutil
    except ImportError:
        return 0.0
    total = 0.0
    for process in psutil.process_iter(["pid"]):
        if process.pid == os.getpid():
            continue
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="an instruction export (JSON Lines); default: synthetic examples")
    parser.add_argument("--examples", type=int, default=2000, help="the figure to report the time for")
    parser.add_argument("--measure", type=int, default=0, help="examples actually trained (default: --examples)")
    parser.add_argument("--base", default="", help="a transformers folder or a .gguf file (default: packaged SmolLM2)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--full", action="store_true", help="full fine-tuning instead of LoRA")
    parser.add_argument("--device", default=None)
    parser.add_argument("--judgements", type=int, default=128, help="P(yes) judgements timed after training")
    args = parser.parse_args()

    import torch

    from classifiers.ml.lm.data import JUDGEMENT_TASKS, examples_from_records, read_jsonl
    from classifiers.ml.lm.model import LMParams, add_lora, default_base, judge_proba, load_base, pick_device, train

    measured = args.measure or args.examples
    records = list(read_jsonl(args.data)) if args.data else synthetic_records(max(measured, 400))
    examples = examples_from_records(records)
    random.Random(0).shuffle(examples)
    params = LMParams(
        lora=not args.full,
        batch_size=args.batch_size,
        max_length=args.max_length,
        max_steps=math.ceil(measured / args.batch_size),
        warmup_ratio=0.0,
    )
    device = pick_device(args.device)
    base = args.base or default_base()
    load_average = os.getloadavg()
    started = time.perf_counter()
    model, tokenizer = load_base(base, device=device, lora=params.lora)
    load_s = time.perf_counter() - started
    if params.lora:
        model = add_lora(model, params)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    from classifiers.ml.lm.model import encode_example

    tokens = [len(encode_example(tokenizer, e, params.max_length)[0]) for e in examples[:200]]
    others_before, wall_before = other_cpu_seconds(), time.perf_counter()
    report = train(model, tokenizer, examples, params)
    others = other_cpu_seconds() - others_before
    wall = time.perf_counter() - wall_before
    judgements = [e for e in examples if e.task in JUDGEMENT_TASKS][: args.judgements]
    mark = time.perf_counter()
    judge_proba(model, tokenizer, judgements, batch_size=32, max_length=params.max_length)
    judge_s = time.perf_counter() - mark
    rate = report.examples / report.seconds
    figures = {
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "torch_threads": torch.get_num_threads(),
        "base": Path(base).name,
        "mode": "LoRA" if params.lora else "full fine-tuning",
        "parameters": total,
        "trainable_parameters": trainable,
        "dtype": str(next(model.parameters()).dtype),
        "batch_size": params.batch_size,
        "mean_tokens_per_example": sum(tokens) / len(tokens),
        "load_s": round(load_s, 1),
        "examples_trained": report.examples,
        "train_s": round(report.seconds, 1),
        "examples_per_s": round(rate, 2),
        f"seconds_for_{args.examples}_examples": round(args.examples / rate, 1),
        "projected": report.examples < args.examples,
        "judgements_per_s": round(len(judgements) / judge_s, 1) if judgements else None,
        "load_average_at_start": [round(x, 2) for x in load_average],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        # of the processes this user may read (others' show in the load average only)
        "other_processes_cpu_share": round(others / wall / (os.cpu_count() or 1), 3),
        "final_loss": round(report.final_loss or 0.0, 4),
    }
    print("SUMMARY " + json.dumps(figures))
    for name, value in figures.items():
        print(f"{name:>32}: {value}")


if __name__ == "__main__":
    main()
