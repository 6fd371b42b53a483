from typing import Any

from django.apps import AppConfig


class ClassifiersConfig(AppConfig):
    name = "classifiers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from classifiers.models import ScoringRun, TrainingRun
        from core.runs import RunKind, register_run_kind

        def training_queue(run: Any) -> str:
            from classifiers.services import queue_for

            return queue_for(run.kind)

        register_run_kind(
            RunKind(
                "training",
                TrainingRun,
                "classifiers.training_run_execute",
                queue=training_queue,
                viewers=("curator", "admin"),
            )
        )
        # scoring runs are claimed chunk by chunk; classifiers.scoring_sweep is their sweep
        register_run_kind(
            RunKind(
                "scoring", ScoringRun, "classifiers.scoring_chunk_execute", sweep=False, viewers=("curator", "admin")
            )
        )
