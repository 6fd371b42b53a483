from typing import Any

from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Candidate generation"

    def ready(self) -> None:
        from core.runs import RunKind, register_run_kind
        from generation.models import GenerationRun

        def queue(run: Any) -> str:
            from generation.services import generation_queue

            return generation_queue(run)

        register_run_kind(RunKind("generation", GenerationRun, "generation.generation_run_execute", queue=queue))
