"""COSMO-LM's pages (admins): the versions with their headline metrics beside the untuned base's, the trainings
with a progress bar (polled through the run API), and one version's full evaluation."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from core.roles import Role, user_has_role
from lm import selectors


def _admin_only(request: HttpRequest) -> None:
    if not user_has_role(request.user, Role.ADMIN):
        raise PermissionDenied


@login_required
def lm_page(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    versions = list(selectors.lm_version_list()[:30])
    return render(
        request,
        "lm/lm.html",
        {
            "versions": [(version, selectors.lm_version_comparison(version)) for version in versions],
            "training_runs": list(selectors.lm_training_run_list()[:20]),
        },
    )


@login_required
def lm_version_page(request: HttpRequest, version_id: int) -> HttpResponse:
    _admin_only(request)
    version = get_object_or_404(selectors.lm_version_list(), pk=version_id)
    return render(
        request,
        "lm/version.html",
        {
            "version": version,
            "comparison": selectors.lm_version_comparison(version),
            "judgement": sorted((version.metrics.get("judgement") or {}).items()),
            "base_judgement": version.base_metrics.get("judgement") or {},
            "generation": version.metrics.get("generation") or {},
            "base_generation": version.base_metrics.get("generation") or {},
            "examples": version.metrics.get("examples") or [],
        },
    )
