"""Admin pages of filtering: runs with live progress, and a run's report."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from core.roles import Role, user_has_role
from filtering import selectors


def _require_admin(request: HttpRequest) -> None:
    if not user_has_role(request.user, Role.ADMIN):
        raise PermissionDenied


@login_required
def filter_runs(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    return render(request, "filtering/filter_runs.html", {"runs": list(selectors.filter_run_list()[:50])})


@login_required
def filter_run_report(request: HttpRequest, run_id: int) -> HttpResponse:
    _require_admin(request)
    run = selectors.filter_run_get(run_id=run_id)
    if run is None:
        raise Http404("No such filter run.")
    report = run.report or {}
    per_rule = report.get("per_rule", {})
    examples = report.get("examples", {})
    rules = [{"name": name, "count": count, "examples": examples.get(name, [])} for name, count in per_rule.items()]
    return render(
        request,
        "filtering/filter_run_report.html",
        {"run": run, "rules": rules, "overlap": report.get("overlap", []), "labelled": _labelled_rows(report)},
    )


def _labelled_rows(report: dict[str, Any]) -> dict[str, Any] | None:
    """The report's ``labelled`` section as rows for the page (None when no decided candidate had a label)."""
    labelled = report.get("labelled")
    if not labelled:
        return None
    return {
        "rows": [
            {
                "name": name,
                "labelled": counts["labelled"],
                "plausible": counts["plausible"],
                "not_plausible": None if counts["not_plausible_share"] is None else 100 * counts["not_plausible_share"],
            }
            for name, counts in selectors.labelled_outcome_rows(labelled)
        ],
        "near_duplicates": labelled.get("near_duplicates"),
    }
