from django.apps import AppConfig


class CurationConfig(AppConfig):
    name = "curation"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Curation and the knowledge graph"

    def ready(self) -> None:
        from core.runs import RunKind, register_run_kind
        from curation.models import ExportRun

        register_run_kind(RunKind("export", ExportRun, "curation.export_run_execute"))
