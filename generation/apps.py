from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Candidate generation"

    def ready(self) -> None:
        from core.runs import RunKind, register_run_kind
        from generation.models import GenerationRun

        register_run_kind(RunKind("generation", GenerationRun, "generation.generation_run_execute"))
