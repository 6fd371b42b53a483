"""Curation pages (thin: a selector or a service, a template): batches and their audit, the graph, exports."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.roles import Role, user_has_role
from curation import graph_selectors, selectors
from curation.apis import ExportCreateInputSerializer, export_filters_of
from curation.models import ExportRun, GraphNode
from curation.services import batch_estimate, batches_per_call, export_run_create, review_batches_create
from knowledge.selectors import category_list, relation_list


def _require(request: HttpRequest, *roles: Role) -> None:
    if not user_has_role(request.user, *roles):
        raise PermissionDenied


@login_required
def batches(request: HttpRequest) -> HttpResponse:
    _require(request, Role.CURATOR, Role.ADMIN)
    listed = list(selectors.batch_list()[:100])
    rows = [(batch, batch_estimate(batch)) for batch in listed]
    return render(request, "curation/batches.html", {"rows": rows, "queue": selectors.curation_queue_cached()})


@login_required
@require_POST
def batches_create(request: HttpRequest) -> HttpResponse:
    _require(request, Role.CURATOR, Role.ADMIN)
    try:
        across = request.POST.get("across_relations") == "on"
        created = review_batches_create(actor=request.user, across_relations=across, max_batches=batches_per_call())
        if created:
            more = " (the most one press forms; press again for more)" if len(created) == batches_per_call() else ""
            messages.success(request, f"{len(created)} new batch(es){more}.")
        else:
            messages.info(request, "No new batch: every scored candidate is in an open batch already.")
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
    """The graph explorer (``static/js/graph.js`` reads neighbourhoods from the API) above the graph's counts;
    ``?node=<id>`` opens a node."""
    _require(request, Role.CURATOR, Role.ADMIN)
    return render(
        request,
        "curation/graph.html",
        {
            "summary": selectors.graph_summary_cached(),
            "top": selectors.graph_top_nodes(limit=12),
            "relations": relation_list(),
            "categories": category_list(),
            "kinds": GraphNode.Kind.choices,
        },
    )


@login_required
def graph_node(request: HttpRequest, node_id: int) -> HttpResponse:
    _require(request, Role.CURATOR, Role.ADMIN)
    return render(
        request, "curation/node.html", selectors.node_edges(get_object_or_404(selectors.graph_nodes(), pk=node_id))
    )


@login_required
def graph_edge(request: HttpRequest, edge_id: int) -> HttpResponse:
    """An accepted edge's provenance: candidate, score, batch and its audit, versions, curator and time."""
    _require(request, Role.CURATOR, Role.ADMIN)
    edge = get_object_or_404(graph_selectors.graph_edges(), pk=edge_id)
    return render(request, "curation/edge.html", {"edge": graph_selectors.graph_edge_provenance(edge)})


@login_required
def exports(request: HttpRequest) -> HttpResponse:
    """The exports page; a submitted form is validated by the API's serializer (``ExportCreateInputSerializer``),
    so a bad date or score is a 400 page naming the field, never a queued run that fails in the worker."""
    _require(request, Role.ADMIN)
    errors: list[str] = []
    if request.method == "POST":
        filters: dict[str, object] = {}
        for key in ("relations", "categories"):
            if request.POST.getlist(key):
                filters[key] = request.POST.getlist(key)
        for key in ("min_score", "approved_from", "approved_to"):
            if request.POST.get(key):
                filters[key] = request.POST[key]
        if request.POST.get("include_usernames"):
            filters["include_usernames"] = True
        data = ExportCreateInputSerializer(data={"format": request.POST.get("format", ""), "filters": filters})
        if data.is_valid():
            try:
                export_run_create(
                    format=data.validated_data["format"],
                    filters=export_filters_of(data.validated_data),
                    actor=request.user,
                )
            except ApplicationError as exc:
                messages.error(request, str(exc))
            return redirect("exports")
        errors = _field_errors(data.errors)
    return render(
        request,
        "curation/exports.html",
        {
            "runs": list(selectors.export_run_list()[:50]),
            "formats": ExportRun.Format.choices,
            "errors": errors,
            **selectors.export_filter_choices(),
        },
        status=400 if errors else 200,
    )


def _field_errors(errors: Any, prefix: str = "") -> list[str]:
    """A serializer's errors as "field: message" lines (nested fields joined with dots)."""
    if isinstance(errors, dict):
        return [line for key, value in errors.items() for line in _field_errors(value, f"{prefix}{key}.")]
    if isinstance(errors, list) and errors and all(isinstance(item, str) for item in errors):
        return [f"{prefix.rstrip('.')}: {item}" for item in errors]
    if isinstance(errors, list):
        return [line for index, item in enumerate(errors) for line in _field_errors(item, f"{prefix}{index}.")]
    return [f"{prefix.rstrip('.')}: {errors}"]
