"""One output shape for runs of every kind, and the API that lists them (``/api/runs/``).

Each app's run serializer extends ``RunOutputSerializer`` with its own parameters and results, so a client (and
``static/js/runs.js``) reads status, phase, progress, message and error the same way for an ingest, a filter run,
a training, a scoring run, an export or a generation.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import IsCuratorOrAdmin
from core.errors import NotFound
from core.roles import Role, user_has_role
from core.runs import Run, RunKind, run_kinds


class RunOutputSerializer(serializers.Serializer):
    """What every run has (``core.runs.Run``)."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    phase = serializers.CharField()
    progress = serializers.FloatField(source="progress_fraction")
    progress_done = serializers.IntegerField()
    progress_total = serializers.IntegerField()
    message = serializers.CharField()
    error = serializers.CharField(help_text="Why it failed, for operators (empty unless it failed).")
    timings = serializers.JSONField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    heartbeat_at = serializers.DateTimeField(allow_null=True, help_text="The claimant's last sign of life.")
    attempts = serializers.IntegerField(help_text="How many times a worker claimed it.")


class RunSummaryOutputSerializer(RunOutputSerializer):
    """A run of any kind in the cross-kind listing (it shapes ``run_summary``'s dictionaries)."""

    progress = serializers.FloatField()
    kind = serializers.CharField(help_text="ingest, filter, training, scoring, export, generation or lm_training.")
    url = serializers.CharField(help_text="This run in the cross-kind API (what the pages poll).")


def _visible_kinds(user: Any) -> list[RunKind]:
    return [kind for kind in run_kinds().values() if user_has_role(user, *(Role(name) for name in kind.viewers))]


def run_summary(kind: RunKind, run: Run) -> dict[str, Any]:
    data = dict(RunOutputSerializer(run).data)
    data.update(kind=kind.name, url=f"/api/runs/{kind.name}/{run.pk}/")
    return data


def runs_recent(user: Any, *, in_flight_only: bool, limit: int) -> list[dict[str, Any]]:
    """The newest runs of every kind the user may see (only queued and running ones with ``in_flight_only``)."""
    rows: list[tuple[Any, dict[str, Any]]] = []
    for kind in _visible_kinds(user):
        runs = kind.model._default_manager.order_by("-created_at", "-id")
        if in_flight_only:
            runs = runs.filter(status__in=["queued", "running"])
        rows += [(run.created_at, run_summary(kind, run)) for run in runs[:limit]]
    rows.sort(key=lambda row: row[0], reverse=True)
    return [data for _created, data in rows[:limit]]


class RunListApi(APIView):
    """Runs of every kind the caller may see, newest first, ``limit`` at most (``?active=true``: queued and
    running only). Not paginated: it is a window on what is happening now, not an archive."""

    permission_classes = [IsCuratorOrAdmin]

    class FilterSerializer(serializers.Serializer):
        active = serializers.BooleanField(default=False)
        limit = serializers.IntegerField(default=50, min_value=1, max_value=200)

    @extend_schema(
        operation_id="runs_list", parameters=[FilterSerializer], responses=RunSummaryOutputSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return Response(
            runs_recent(
                request.user, in_flight_only=filters.validated_data["active"], limit=filters.validated_data["limit"]
            )
        )


class RunDetailApi(APIView):
    """One run of any kind, in the common shape (the kind's own endpoint has its parameters and results)."""

    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(operation_id="runs_retrieve", responses=RunSummaryOutputSerializer)
    def get(self, request: Request, kind: str, run_id: int) -> Response:
        found = next((k for k in _visible_kinds(request.user) if k.name == kind), None)
        run = None if found is None else found.model._default_manager.filter(pk=run_id).first()
        if found is None or run is None:
            raise NotFound("No such run.")
        return Response(run_summary(found, run))
