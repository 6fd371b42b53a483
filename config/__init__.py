"""Plausi project configuration: settings, the Celery app and the URL map."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
