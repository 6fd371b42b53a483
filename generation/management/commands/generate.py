"""``python manage.py generate --pairs 100 --relations capable_of,used_for_function [--backend openai|local]``:
explain behaviour pairs with an LLM, ingest the explanations and filter them (runs here, with a progress bar)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.errors import ApplicationError
from generation.models import GenerationRun
from generation.services import (
    generation_run_claim,
    generation_run_create,
    generation_run_execute,
    select_pairs,
)


class Command(BaseCommand):
    help = "Generate candidate knowledge for behaviour pairs with an LLM (COSMO's first stage)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pairs", type=int, default=100, help="How many behaviour pairs (most observed first).")
        parser.add_argument("--relations", required=True, help="Comma-separated relation slugs.")
        parser.add_argument("--category", action="append", default=[], help="Only pairs of this category.")
        parser.add_argument("--min-specificity", type=float)
        parser.add_argument("--max-specificity", type=float, help="e.g. 0.5: broad queries, as COSMO favoured.")
        parser.add_argument("--kind", choices=["search_buy", "co_buy"], action="append", default=[])
        parser.add_argument("--backend", choices=GenerationRun.Backend.values, default="openai")
        parser.add_argument("--model", default="", help="Model name (HTTP) or folder (local).")
        parser.add_argument("--temperature", type=float, default=0.7)
        parser.add_argument("--max-tokens", type=int, default=160)
        parser.add_argument("--items", type=int, default=5, help="Explanations asked per prompt.")
        parser.add_argument("--seed", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        selection = {
            "count": options["pairs"],
            "categories": options["category"] or None,
            "min_specificity": options["min_specificity"],
            "max_specificity": options["max_specificity"],
            "kinds": options["kind"] or None,
        }
        try:
            pairs = select_pairs(**selection)
            run = generation_run_create(
                backend=options["backend"],
                relations=[r.strip() for r in options["relations"].split(",") if r.strip()],
                pair_ids=pairs,
                selection=selection,
                model_name=options["model"],
                sampling={
                    "temperature": options["temperature"],
                    "max_tokens": options["max_tokens"],
                    "items": options["items"],
                    "seed": options["seed"],
                },
                enqueue=False,
            )
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        generation_run_claim(run_id=run.pk)
        self.stdout.write(f"generation #{run.pk}: {run.progress_total} prompts with {run.model_name}")
        with tqdm(total=run.progress_total, unit=" prompts", disable=not self.stdout.isatty()) as bar:
            run = generation_run_execute(run_id=run.pk, progress=lambda done: bar.update(done - bar.n))
        self.stdout.write(f"{run.status}: {run.message}; {run.counts}")
