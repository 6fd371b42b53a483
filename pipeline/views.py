"""Pages of the top floor (thin: a selector, a template): the dashboard and the pipeline view."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
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

    return render(
        request,
        "pipeline/dashboard.html",
        {
            "pipeline": pipeline_overview(user=request.user),
            "funnel": funnel(),
            "agreement": agreement_report()["questions"],
            "versions": sorted(active_versions().values(), key=lambda v: v.target),
            "batches": batch_estimates()[::-1],
            "runs": runs_recent(request.user, in_flight_only=True, limit=20),
            "plots": ["funnel", "throughput", "learning-curve", "batches"],
        },
    )


@login_required
def dashboard_plot(request: HttpRequest, name: str) -> HttpResponse:
    _require_curator_or_admin(request)
    from pipeline.dashboard import PLOTS, plot

    if name not in PLOTS:
        raise Http404("No such plot.")
    response = HttpResponse(plot(name), content_type="image/svg+xml")
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, max-age=30"
    return response


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
