"""Pages of the top floor (thin: a selector, a template): the dashboard and the pipeline view."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseGone
from django.shortcuts import render

from core.api.runs import runs_recent
from core.roles import Role, user_has_role
from pipeline.selectors import pipeline_overview


def _require_curator_or_admin(request: HttpRequest) -> None:
    if not user_has_role(request.user, Role.CURATOR, Role.ADMIN):
        raise PermissionDenied


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The pipeline, funnel, throughput, agreement, the learning curve and precision/recall, batch estimates,
    runs in progress."""
    _require_curator_or_admin(request)
    from annotation.selectors import agreement_report
    from classifiers.selectors import active_versions
    from pipeline.dashboard import batch_estimates, funnel

    counts = funnel()
    return render(
        request,
        "pipeline/dashboard.html",
        {
            "pipeline": pipeline_overview(user=request.user),
            "funnel": counts,
            "agreement": agreement_report()["questions"],
            "versions": sorted(active_versions().values(), key=lambda v: v.target),
            "batches": batch_estimates()[::-1],
            "runs": runs_recent(request.user, in_flight_only=True, limit=20),
            "empty": not any(count for _, count in counts),
        },
    )


@login_required
def dashboard_plot(request: HttpRequest, name: str) -> HttpResponse:
    """Gone since issue 20: the server drew these SVGs with matplotlib inside the request. The charts are drawn in
    the browser now, from ``GET /api/dashboard/charts/`` (docs/curation.md, "Dashboard")."""
    _require_curator_or_admin(request)
    return HttpResponseGone(
        "The dashboard's plot images were removed: read the chart data from /api/dashboard/charts/.",
        content_type="text/plain; charset=utf-8",
    )


@login_required
def pipeline(request: HttpRequest) -> HttpResponse:
    """The pipeline on its own page: stages, hand-offs, the outbox, runs in progress."""
    _require_curator_or_admin(request)
    return render(
        request,
        "pipeline/pipeline.html",
        {
            "pipeline": pipeline_overview(user=request.user),
            "runs": runs_recent(request.user, in_flight_only=True, limit=20),
        },
    )
