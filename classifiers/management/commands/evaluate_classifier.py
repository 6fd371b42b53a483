"""``python manage.py evaluate_classifier --labels FILE``: how well a classifier trained on the platform's labels
(or on ``--train FILE``) does on an external labelled file in the ingest JSON Lines format; ``--learning-curve``
repeats at growing label counts, comparing uncertainty sampling with random sampling from the same pool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from classifiers import selectors
from classifiers.external import GATE_ORDER, LabelledExample, read_labelled_file
from classifiers.ml import metrics
from classifiers.ml.data import Batch, Example
from classifiers.ml.models import make_model
from classifiers.models import ModelKind
from core.errors import ApplicationError
from knowledge.selectors import relation_ids as all_relation_ids


class Command(BaseCommand):
    help = "Evaluate a classifier on an external labelled file (ROC AUC, macro F1, precision/recall)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--labels", type=Path, required=True, help="External labelled file (ingest JSONL).")
        parser.add_argument("--train", type=Path, help="Train on this labelled file instead of the platform's labels.")
        parser.add_argument(
            "--target",
            default=None,
            help="The target question; by default the latest one in the gate order that the --labels file labels "
            "(typical, else plausible).",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Leave out lines the ingest parser refuses (formula-like values, unknown relations, bad JSON), "
            "counting them and naming their line numbers, instead of refusing the whole file.",
        )
        parser.add_argument("--kind", default="tfidf_lr", choices=ModelKind.values)
        parser.add_argument("--learning-curve", action="store_true")
        parser.add_argument("--start", type=int, default=40, help="Learning curve: labels to start from.")
        parser.add_argument("--step", type=int, default=40, help="Learning curve: labels added per step.")
        parser.add_argument("--steps", type=int, default=6)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        targets = settings.PLAUSI_CLASSIFIERS["TARGETS"]
        if options["target"] is not None and options["target"] not in targets:
            raise CommandError(f"--target must be one of {', '.join(targets)}")
        relation_ids = all_relation_ids()
        self._skip = bool(options["skip_invalid"])
        try:
            test_items = self._read(options["labels"], relation_ids)
            target = options["target"] or self._detect_target(test_items, options["labels"].name, targets)
            test_x, test_y = self._labelled(test_items, options["labels"].name, target)
            if options["train"]:
                train_x, train_y = self._labelled(
                    self._read(options["train"], relation_ids), options["train"].name, target
                )
            else:
                labels = selectors.target_labels(target)
                found = selectors.candidate_examples(sorted(labels))
                ids = sorted(found)
                train_x, train_y = [found[i] for i in ids], np.array([labels[i] for i in ids])
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        source = options["train"].name if options["train"] else "the platform's labels"
        self.stdout.write(
            f"target {target}, model {options['kind']}: training on {len(train_y)} labelled candidates from {source} "
            f"({int(train_y.sum())} Yes), evaluating on {len(test_y)} from {options['labels'].name} "
            f"({int(test_y.sum())} Yes)"
        )
        if len(np.unique(train_y)) < 2 or len(np.unique(test_y)) < 2:
            raise CommandError("Both the training labels and the external labels need Yes and No examples.")
        if options["learning_curve"]:
            self._learning_curve(options, train_x, train_y, test_x, test_y)
            return
        scores = self._fit_predict(options["kind"], train_x, train_y, test_x)
        self._report(test_y, scores)

    def _read(self, path: Path, relation_ids: dict[str, int]) -> list[LabelledExample]:
        if not path.exists():
            raise ApplicationError(f"{path} does not exist.")
        skipped: list[str] | None = [] if self._skip else None
        items = read_labelled_file(path, relation_ids=relation_ids, skipped=skipped)
        if skipped:
            lines = [problem.split(":")[1] for problem in skipped]
            shown = ", ".join(lines[:20]) + (f" and {len(lines) - 20} more" if len(lines) > 20 else "")
            self.stdout.write(f"{path.name}: skipped {len(skipped)} invalid line(s) (--skip-invalid): lines {shown}")
            for problem in skipped[:5]:
                self.stdout.write(f"  {problem}")
        return items

    def _detect_target(self, items: list[LabelledExample], name: str, targets: list[str]) -> str:
        """The latest target in the gate order that some line of the file labels (``typical``, else
        ``plausible``), said out loud, so a file with plausibility labels only works without ``--target``."""
        present = {slug for item in items for slug in item.labels}
        for target in sorted(targets, key=lambda t: GATE_ORDER.index(t) if t in GATE_ORDER else -1, reverse=True):
            if target in present:
                others = [t for t in targets if t != target and t not in present]
                note = f" (no line labels {', '.join(others)})" if others else ""
                self.stdout.write(f"--target not given: evaluating {target!r}, labelled in {name}{note}")
                return target
        found = ", ".join(sorted(present)) or "none"
        raise ApplicationError(
            f"{name} labels none of the targets {', '.join(targets)} (labels found: {found}); pass --target."
        )

    def _labelled(self, items: list[LabelledExample], name: str, target: str) -> tuple[list[Example], np.ndarray]:
        rows = [(item.example, item.target_label(target)) for item in items]
        kept = [(example, label) for example, label in rows if label is not None]
        if not kept:
            raise ApplicationError(f"{name} has no line labelled for {target!r} (or an earlier question).")
        return [example for example, _ in kept], np.array([label for _, label in kept], dtype=np.int64)

    @staticmethod
    def _fit_predict(kind: str, x: list[Example], y: np.ndarray, test: list[Example]) -> np.ndarray:
        model = make_model(kind)
        model.fit(Batch(x), y)
        return model.predict_proba(Batch(test))

    def _report(self, y: np.ndarray, scores: np.ndarray) -> None:
        result = metrics.evaluate(y, scores, target_precision=settings.PLAUSI_CLASSIFIERS["TARGET_PRECISION"])
        self.stdout.write(
            f"ROC AUC {_f(result['roc_auc'])}  macro F1 {_f(result['macro_f1'])}  "
            f"ECE {_f(result['calibration']['ece'])}"
        )
        for point in result["at_thresholds"]:
            self.stdout.write(
                f"  at {point['threshold']:.1f}: precision {_f(point['precision'])} recall {_f(point['recall'])} "
                f"({point['accepted']} accepted)"
            )

    def _learning_curve(
        self, options: dict[str, Any], x: list[Example], y: np.ndarray, test_x: list[Example], test_y: np.ndarray
    ) -> None:
        rng = np.random.default_rng(options["seed"])
        order = rng.permutation(len(y))
        start = min(options["start"], len(y))
        seed_rows = list(order[:start])
        if len(np.unique(y[seed_rows])) < 2:  # make sure the first fit sees both classes
            other = next(i for i in order[start:] if y[i] != y[seed_rows[0]])
            seed_rows.append(other)
        table: dict[str, list[tuple[int, float | None, float]]] = {}
        for strategy in ("uncertainty", "random"):
            chosen = list(seed_rows)
            remaining = [i for i in order if i not in set(chosen)]
            points = []
            for _ in tqdm(range(options["steps"]), desc=strategy, disable=not self.stdout.isatty()):
                scores = self._fit_predict(options["kind"], [x[i] for i in chosen], y[chosen], test_x)
                points.append((len(chosen), metrics.roc_auc(test_y, scores), metrics.macro_f1(test_y, scores)))
                if not remaining:
                    break
                take = min(options["step"], len(remaining))
                if strategy == "random":
                    picked = remaining[:take]
                else:
                    pool_scores = self._fit_predict(
                        options["kind"], [x[i] for i in chosen], y[chosen], [x[i] for i in remaining]
                    )
                    nearest = np.argsort(np.abs(pool_scores - 0.5), kind="stable")[:take]
                    picked = [remaining[i] for i in nearest]
                chosen += picked
                picked_set = set(picked)
                remaining = [i for i in remaining if i not in picked_set]
            table[strategy] = points
        self.stdout.write("labels   uncertainty AUC / F1   random AUC / F1")
        for (n, auc_u, f1_u), (_, auc_r, f1_r) in zip(table["uncertainty"], table["random"], strict=False):
            self.stdout.write(f"{n:>6}   {_f(auc_u):>8} / {f1_u:.3f}        {_f(auc_r):>8} / {f1_r:.3f}")


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
