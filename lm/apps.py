from typing import Any

from django.apps import AppConfig


class LMConfig(AppConfig):
    name = "lm"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "COSMO-LM"

    def ready(self) -> None:
        from core.runs import RunKind, register_run_kind
        from lm.models import LMTrainingRun

        def queue(run: Any) -> str:
            from lm.services.common import lm_queue

            return lm_queue()

        register_run_kind(RunKind("lm_training", LMTrainingRun, "lm.lm_training_run_execute", queue=queue))
