"""Curation tests use ``scored_pool`` from tests/conftest.py (the e2e tests need it too)."""
