"""Curation pages (thin: a selector or a service, a template): batches and their audit, the graph, exports."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.roles import Role, user_has_role
from curation import selectors
from curation.models import ExportRun
from curation.services import export_run_create, review_batches_create


def _require(request: HttpRequest, *roles: Role) -> None:
    if not user_has_role(request.user, *roles):
        raise PermissionDenied


@login_required
def batches(request: HttpRequest) -> HttpResponse:
    _require(request, Role.CURATOR, Role.ADMIN)
    listed = list(selectors.batch_list()[:100])
    from curation.services import batch_estimate

    rows = [(batch, batch_estimate(batch)) for batch in listed]
    return render(request, "curation/batches.html", {"rows": rows})


@login_required
@require_POST
def batches_create(request: HttpRequest) -> HttpResponse:
    _require(request, Role.CURATOR, Role.ADMIN)
    try:
        created = review_batches_create(actor=request.user)
        messages.success(request, f"{len(created)} new batch(es).")
    except ApplicationError as exc:
        messages.error(request, str(exc))
    return redirect("curation-batches")


@login_required
def batch_audit(request: HttpRequest, batch_id: int) -> HttpResponse:
    _require(request, Role.CURATOR, Role.ADMIN)
    detail = selectors.batch_detail(get_object_or_404(selectors.batches(), pk=batch_id))
    peak = max(detail["histogram"]) or 1
    detail["bars"] = [(i / 10, count, round(100 * count / peak)) for i, count in enumerate(detail["histogram"])]
    return render(request, "curation/batch.html", detail)


@login_required
def graph(request: HttpRequest) -> HttpResponse:
    _require(request, Role.CURATOR, Role.ADMIN)
    return render(
        request, "curation/graph.html", {"summary": selectors.graph_summary(), "top": selectors.graph_top_nodes()}
    )


@login_required
def graph_node(request: HttpRequest, node_id: int) -> HttpResponse:
    _require(request, Role.CURATOR, Role.ADMIN)
    return render(
        request, "curation/node.html", selectors.node_edges(get_object_or_404(selectors.graph_nodes(), pk=node_id))
    )


@login_required
def exports(request: HttpRequest) -> HttpResponse:
    _require(request, Role.ADMIN)
    if request.method == "POST":
        filters: dict[str, object] = {}
        if request.POST.getlist("relations"):
            filters["relations"] = request.POST.getlist("relations")
        if request.POST.getlist("categories"):
            filters["categories"] = request.POST.getlist("categories")
        if request.POST.get("min_score"):
            try:
                filters["min_score"] = float(request.POST["min_score"])
            except ValueError:
                messages.error(request, "The minimum score must be a number between 0 and 1.")
                return redirect("exports")
        for key in ("approved_from", "approved_to"):
            if request.POST.get(key):
                filters[key] = request.POST[key]
        try:
            export_run_create(format=request.POST.get("format", ""), filters=filters, actor=request.user)
        except ApplicationError as exc:
            messages.error(request, str(exc))
        return redirect("exports")
    return render(
        request,
        "curation/exports.html",
        {
            "runs": list(selectors.export_run_list()[:50]),
            "formats": ExportRun.Format.choices,
            **selectors.export_filter_choices(),
        },
    )
