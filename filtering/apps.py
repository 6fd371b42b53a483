from django.apps import AppConfig


class FilteringConfig(AppConfig):
    name = "filtering"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.runs import RunKind, register_run_kind
        from filtering.models import FilterRun

        register_run_kind(RunKind("filter", FilterRun, "filtering.filter_run_execute"))
