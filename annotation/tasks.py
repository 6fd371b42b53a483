"""Celery adapters for annotation. (Priorities after scoring are a pipeline hand-off: pipeline/handoffs.py.)"""
