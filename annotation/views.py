"""The annotator's page: a shell that static/js/annotate.js fills from the annotation API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.roles import ALL_ROLES, user_has_role


@login_required
def annotate(request: HttpRequest) -> HttpResponse:
    if not user_has_role(request.user, *ALL_ROLES):  # a person's role (a serving client has no pages)
        raise PermissionDenied
    return render(request, "annotation/annotate.html")


@login_required
def agreement(request: HttpRequest) -> HttpResponse:
    """Agreement per question and annotator statistics (curators and admins)."""
    from annotation.reports import agreement_report_cached
    from core.roles import Role, user_has_role

    if not user_has_role(request.user, Role.CURATOR, Role.ADMIN):
        raise PermissionDenied
    return render(request, "annotation/agreement.html", {"report": agreement_report_cached()})
