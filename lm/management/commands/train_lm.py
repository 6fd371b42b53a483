"""``python manage.py train_lm [--base PATH] [--epochs N] [--full] ...``: fine-tune COSMO-LM on the platform's
instruction data here (a progress bar per phase), recorded as an ``LMTrainingRun`` like the API's; ``--queue``
sends it to the ``gpu`` queue instead. Prints the held-out metrics beside the untuned base's."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.errors import ApplicationError
from lm.models import LMTrainingRun, LMVersion
from lm.selectors import lm_version_comparison
from lm.services import lm_training_run_claim, lm_training_run_execute, lm_training_run_request


class Command(BaseCommand):
    help = "Fine-tune COSMO-LM (LoRA by default) on the accepted graph's instruction data and register a version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base",
            default="",
            help="A transformers folder or a .gguf file (default: LM_BASE_MODEL, "
            "else the packaged SmolLM2-135M-Instruct).",
        )
        parser.add_argument("--params", default="{}", help="LMParams as JSON (see docs/cosmo_lm.md).")
        parser.add_argument("--epochs", type=float)
        parser.add_argument("--max-steps", type=int)
        parser.add_argument("--batch-size", type=int)
        parser.add_argument("--learning-rate", type=float)
        parser.add_argument("--max-length", type=int)
        parser.add_argument("--full", action="store_true", help="Full fine-tuning instead of LoRA adapters.")
        parser.add_argument("--held-out-share", type=float, help="Share of behaviours held out (default 0.2).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the split and of the training.")
        parser.add_argument("--relation", action="append", default=[], help="Only this relation's edges (repeatable).")
        parser.add_argument("--no-activate", action="store_true", help="Register the version without activating it.")
        parser.add_argument("--queue", action="store_true", help="Queue it for a gpu worker instead of running here.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            params = json.loads(options["params"])
        except json.JSONDecodeError as error:
            raise CommandError(f"--params is not JSON: {error.msg}") from None
        if not isinstance(params, dict):
            raise CommandError("--params must be a JSON object")
        for option, name in (
            ("epochs", "epochs"),
            ("max_steps", "max_steps"),
            ("batch_size", "batch_size"),
            ("learning_rate", "learning_rate"),
            ("max_length", "max_length"),
        ):
            if options[option] is not None:
                params[name] = options[option]
        if options["full"]:
            params["lora"] = False
        params.setdefault("seed", options["seed"])
        try:
            run = lm_training_run_request(
                base_model=options["base"],
                params=params,
                held_out_share=options["held_out_share"],
                seed=options["seed"],
                filters={"relations": options["relation"]} if options["relation"] else {},
                activate=not options["no_activate"],
                enqueue=options["queue"],
            )
        except ApplicationError as error:
            raise CommandError(str(error)) from None
        if options["queue"]:
            self.stdout.write(f"LM training #{run.pk} queued on the gpu queue.")
            return
        if not lm_training_run_claim(run_id=run.pk):
            raise CommandError(f"LM training #{run.pk} was taken by someone else.")
        bars: dict[str, tqdm[Any]] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if options["no_progress"]:
                return
            bar = bars.get(phase)
            if bar is None:
                for other in bars.values():
                    other.close()
                bar = bars[phase] = tqdm(desc=phase, total=total or None, unit=" examples" if total else "")
            if total and bar.total != total:
                bar.total = total
            bar.update(max(0, done - bar.n))

        run = lm_training_run_execute(run_id=run.pk, progress=progress)
        for bar in bars.values():
            bar.close()
        if run.status != LMTrainingRun.Status.SUCCEEDED:
            raise CommandError(f"LM training #{run.pk} failed: {run.message}")
        version = LMVersion.objects.get(training_run=run)
        self.stdout.write(f"LM training #{run.pk}: {run.message}")
        self.stdout.write(f"{'metric':<16}{'tuned':>10}{'base':>10}")
        for row in lm_version_comparison(version):
            self.stdout.write(f"{row['metric']:<16}{_fmt(row['tuned']):>10}{_fmt(row['base']):>10}")
        training = version.training
        self.stdout.write(
            f"trained {training.get('examples')} examples in {run.timings.get('train_s', 0):.1f} s "
            f"({training.get('examples_per_second', 0):.2f} examples/s on {training.get('device')}); "
            f"artifact {version.artifact}"
        )


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"
