from django.apps import AppConfig


class ServingConfig(AppConfig):
    name = "serving"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Knowledge serving"

    def ready(self) -> None:
        from core.events import Subscription, subscribe

        # graph -> serving (docs/serving.md): an approval's edges reach the feature store without a manual step;
        # a classifier activation refreshes the generated knowledge it judged.
        subscribe(Subscription(name="serving_after_graph", event="graph.updated", task="serving.store_update"))
        subscribe(
            Subscription(name="serving_refresh_after_activation", event="model.activated", task="serving.refresh")
        )
        # a new COSMO-LM version (the lm app) makes the cache's generated knowledge stale (docs/serving.md)
        subscribe(Subscription(name="serving_refresh_after_lm", event="lm.activated", task="serving.refresh"))
