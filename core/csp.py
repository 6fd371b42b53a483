"""The Content-Security-Policy header on every response (Django 5.2 has none built in).

The policy (``settings.CONTENT_SECURITY_POLICY``) allows scripts, styles and everything else from this origin only:
no inline ``<script>``, no ``style=`` attribute, no ``on*`` handler, no ``javascript:`` URL runs, so text that
escaped escaping still cannot execute. Every page of ours, the Django admin and the Swagger UI at ``/api/docs/``
(drf-spectacular's split view: its start-up script is a same-origin file, and ``templates/drf_spectacular/``
moves its inline style to a static file) live within it; no path is relaxed. A view that sets its own policy
keeps it. The dashboard's charts are Chart.js drawing on canvases from a same-origin script.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy: str = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and HEADER not in response:
            response[HEADER] = self.policy
        return response
