"""HTML pages of the knowledge domain (thin: a selector, a template)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.roles import Role, user_has_role
from knowledge import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The start page: what the signed-in user can do, and the state of the pool."""
    context: dict[str, Any] = {}
    if user_has_role(request.user, Role.CURATOR, Role.ADMIN):
        context["status_counts"] = selectors.candidate_status_counts()
    if user_has_role(request.user, Role.ADMIN):
        context["recent_runs"] = list(selectors.ingest_run_list()[:5])
    return render(request, "knowledge/home.html", context)


@login_required
def ingest_runs(request: HttpRequest) -> HttpResponse:
    """Ingest runs with live progress bars (admins); the page polls the run API."""
    if not user_has_role(request.user, Role.ADMIN):
        raise PermissionDenied
    return render(request, "knowledge/ingest_runs.html", {"runs": list(selectors.ingest_run_list()[:50])})
