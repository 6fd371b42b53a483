from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Knowledge"

    def ready(self) -> None:
        from core.runs import RunKind, register_run_kind
        from knowledge.models import IngestRun

        register_run_kind(RunKind("ingest", IngestRun, "knowledge.ingest_run_execute"))
