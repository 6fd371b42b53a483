"""The classifiers page (curators, admins): versions and their metrics, the learning curve, runs in progress."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from classifiers import selectors
from classifiers.charts import learning_curve_chart
from core.roles import Role, user_has_role


@login_required
def classifiers_page(request: HttpRequest) -> HttpResponse:
    if not user_has_role(request.user, Role.CURATOR, Role.ADMIN):
        raise PermissionDenied
    targets = settings.PLAUSI_CLASSIFIERS["TARGETS"]
    curves = []
    for target in targets:
        points = selectors.learning_curve(target)
        curves.append({"target": target, "points": points, "chart": learning_curve_chart(points)})
    return render(
        request,
        "classifiers/classifiers.html",
        {
            "curves": curves,
            "versions": list(selectors.model_version_list()[:30]),
            "training_runs": list(selectors.training_run_list()[:20]),
            "scoring_runs": list(selectors.scoring_run_list()[:20]),
        },
    )
