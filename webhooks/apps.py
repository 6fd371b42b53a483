from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Webhooks: pipeline events delivered to admin-managed HTTP endpoints (docs/webhooks.md). It imports only the
    ground floor (core); no app imports it. Its listener makes deliveries in each event's own transaction."""

    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from core.events import listen
        from webhooks.services import deliveries_fan_out

        listen("webhooks", deliveries_fan_out)
