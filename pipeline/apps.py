from django.apps import AppConfig


class PipelineConfig(AppConfig):
    """The top floor: the hand-offs between stages (pipeline/handoffs.py), the pipeline view and the dashboard.
    It may import every app; no app imports it."""

    name = "pipeline"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Pipeline"

    def ready(self) -> None:
        from core.metrics import metrics_source_register
        from pipeline.handoffs import handoffs_register
        from pipeline.metrics import pipeline_metrics

        handoffs_register()
        metrics_source_register("pipeline", pipeline_metrics)
