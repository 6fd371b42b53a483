"""COSMO-LM without the project: ``python -m classifiers.ml.lm train --data instructions.jsonl --out DIR`` trains
and evaluates on an instruction export (``export_graph --format instructions``) or a version's ``examples.jsonl``;
``merge --artifact DIR --out DIR`` writes the base with its adapter merged in, for an OpenAI-compatible server.
Needs torch, transformers and peft (plus gguf for a GGUF base), nothing else of the project."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from classifiers.ml.lm.data import examples_from_records, read_examples, read_jsonl, split_examples
from classifiers.ml.lm.model import LMParams, default_base, merge_artifact


def _split(path: Path, *, share: float, seed: int, max_tails: int) -> object:
    records = list(read_jsonl(path))
    if records and "group" in records[0]:  # a version's snapshot: its own split
        return read_examples(path)
    return split_examples(examples_from_records(records, max_tails=max_tails), share=share, seed=seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classifiers.ml.lm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="fine-tune and evaluate (before and after) on a JSONL file")
    train.add_argument("--data", type=Path, required=True)
    train.add_argument("--out", type=Path, required=True)
    train.add_argument("--base", default="", help="a transformers folder or a .gguf file (default: packaged SmolLM2)")
    train.add_argument("--params", default="{}", help="LMParams as JSON")
    train.add_argument("--held-out-share", type=float, default=0.2)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default=None)
    train.add_argument("--no-base-evaluation", action="store_true")
    merge = commands.add_parser("merge", help="merge an artifact's adapter into its base (safetensors folder)")
    merge.add_argument("--artifact", type=Path, required=True)
    merge.add_argument("--out", type=Path, required=True)
    merge.add_argument("--base", default=None, help="where the base lies on this machine (default: as recorded)")
    args = parser.parse_args(argv)
    if args.command == "merge":
        print(merge_artifact(args.artifact, args.out, base=args.base))
        return 0
    from tqdm import tqdm

    from classifiers.ml.lm.run import train_and_evaluate

    params = LMParams.from_dict(json.loads(args.params))
    split = _split(args.data, share=args.held_out_share, seed=args.seed, max_tails=params.max_tails)
    bars: dict[str, tqdm] = {}

    def progress(phase: str, done: int, total: int) -> None:
        bar = bars.get(phase)
        if bar is None:
            bar = bars[phase] = tqdm(desc=phase, total=total or None, file=sys.stderr)
        if total and bar.total != total:
            bar.total = total
        bar.update(max(0, done - bar.n))

    outcome = train_and_evaluate(
        base=args.base or default_base(),
        split=split,  # type: ignore[arg-type]
        params=params,
        folder=args.out,
        progress=progress,
        device=args.device,
        evaluate_base=not args.no_base_evaluation,
    )
    for bar in bars.values():
        bar.close()
    summary = {
        "tuned": outcome.metrics.get("summary"),
        "base": outcome.base_metrics.get("summary"),
        "training": {k: v for k, v in outcome.training.items() if k != "losses"},
        "timings": outcome.timings,
    }
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
