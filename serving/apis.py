"""The serving API (docs/serving.md): knowledge for a query, a product, a behaviour pair, or a batch of keys.

Views are thin: the parameters are read by ``serving.params`` (the same code as the lean WSGI path, so both refuse
alike, naming the field), the selector answers with pre-rendered JSON bytes, and the serializers below only
document that shape in the OpenAPI schema. Readable by a serving client (the ``serving`` role), curators and
admins, with the API's token (or session) authentication.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.views import APIView

from core.api.permissions import _RolePermission
from core.errors import ApplicationError
from core.roles import Role
from serving import params
from serving.keys import KeyProblem
from serving.selectors import serving_lookup, serving_lookup_one, serving_snapshot_list
from serving.services import conf

SERVING_ROLES = (Role.SERVING, Role.CURATOR, Role.ADMIN)


class ServingErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The invalid input, e.g. `keys[3].product`.")


_BAD_KEY = OpenApiResponse(
    ServingErrorSerializer, description="A key or a paging parameter is invalid; `field` names it."
)


class CanReadServing(_RolePermission):
    """A serving client, a curator or an admin."""

    roles = SERVING_ROLES


def refused(problem: KeyProblem) -> ApplicationError:
    return ApplicationError(f"{problem.field}: {problem.message}", extra={"field": problem.field})


class EdgeSerializer(serializers.Serializer):
    tail = serializers.CharField()
    score = serializers.FloatField(allow_null=True, help_text="The lowest active classifier score; null: unscored.")
    edge = serializers.IntegerField(help_text="The accepted edge's id.")
    candidate = serializers.IntegerField()
    batch = serializers.IntegerField(allow_null=True, help_text="The review batch that accepted it (null: single).")
    model_versions = serializers.DictField(child=serializers.IntegerField(), help_text="{target: classifier version}")


class RelationGroupSerializer(serializers.Serializer):
    relation = serializers.CharField()
    count = serializers.IntegerField(help_text="Edges of this relation in all pages.")
    has_more = serializers.BooleanField()
    edges = EdgeSerializer(many=True)


class CuratedSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField(help_text="Edges per relation on a page.")
    relations = RelationGroupSerializer(many=True)


class GeneratedEdgeSerializer(serializers.Serializer):
    tail = serializers.CharField()
    score = serializers.FloatField(allow_null=True)


class GeneratedGroupSerializer(serializers.Serializer):
    relation = serializers.CharField()
    edges = GeneratedEdgeSerializer(many=True)


class GeneratedSerializer(serializers.Serializer):
    source = serializers.CharField(help_text='Always "model": never curated knowledge.')  # type: ignore[assignment]
    model = serializers.CharField()
    judged_by = serializers.DictField(child=serializers.IntegerField(), allow_null=True)
    generated_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    relations = GeneratedGroupSerializer(many=True)


class KeyEchoSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["query", "product", "query_product", "product_product"])
    query = serializers.CharField(required=False)
    product = serializers.CharField(required=False)
    other_product = serializers.CharField(required=False)


class AnswerSerializer(serializers.Serializer):
    snapshot = serializers.IntegerField(allow_null=True, help_text="The feature store snapshot read (pin with it).")
    key = KeyEchoSerializer()
    found = serializers.BooleanField(help_text="The curated graph knows the key.")
    pending = serializers.BooleanField(help_text="A generation for this key is on its way; ask again later.")
    curated = CuratedSerializer()
    generated = GeneratedSerializer(allow_null=True)


_ANSWER = {200: AnswerSerializer, 400: _BAD_KEY}


class BatchAnswerSerializer(serializers.Serializer):
    snapshot = serializers.IntegerField(allow_null=True)
    results = AnswerSerializer(many=True)


class KeyInputSerializer(serializers.Serializer):
    query = serializers.CharField(required=False)
    product = serializers.CharField(required=False)
    other_product = serializers.CharField(required=False)


class BatchInputSerializer(serializers.Serializer):
    keys = KeyInputSerializer(many=True, help_text="Up to PLAUSI_SERVING['BATCH_MAX_KEYS'] keys.")
    snapshot = serializers.IntegerField(required=False)
    page = serializers.IntegerField(required=False)
    page_size = serializers.IntegerField(required=False)


_PAGING = [
    OpenApiParameter("snapshot", int, description="Pin a snapshot (default: the latest)."),
    OpenApiParameter("page", int, description="Page of every relation's edges (default 1)."),
    OpenApiParameter("page_size", int, description="Edges per relation on a page (default 20)."),
]


def _json(body: bytes) -> HttpResponse:
    return HttpResponse(body, content_type="application/json")


class _SingleKeyApi(APIView):
    permission_classes = [CanReadServing]
    route = ""

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        """An answer depends on the token presented (its role): never kept by a shared cache. The lean path
        (serving/fast.py) sends the same headers."""
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        patch_vary_headers(response, ("Authorization",))
        return response

    def get(self, request: Request) -> HttpResponse:
        values: dict[str, Any] = {}
        for name, items in request.query_params.lists():
            if len(items) > 1:
                raise ApplicationError(f"{name}: give it once", extra={"field": name})
            values[name] = items[0]
        try:
            key, paging = params.single_read(self.route, values, max_page_size=int(conf("MAX_PAGE_SIZE")))
        except params.KeyProblem as problem:
            raise refused(problem) from None
        return _json(
            serving_lookup_one(key=key, snapshot=paging.snapshot, page=paging.page, page_size=paging.page_size)
        )


class ServingQueryApi(_SingleKeyApi):
    """Knowledge about a search query."""

    route = "query"

    @extend_schema(parameters=[OpenApiParameter("query", str, required=True), *_PAGING], responses=_ANSWER)
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)


class ServingProductApi(_SingleKeyApi):
    """Knowledge about a product (by catalogue id)."""

    route = "product"

    @extend_schema(parameters=[OpenApiParameter("product", str, required=True), *_PAGING], responses=_ANSWER)
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)


class ServingPairApi(_SingleKeyApi):
    """Knowledge about a behaviour pair: query + product (search -> buy), or product + other_product (co-buy)."""

    route = "pair"

    @extend_schema(
        parameters=[
            OpenApiParameter("query", str),
            OpenApiParameter("product", str, required=True),
            OpenApiParameter("other_product", str),
            *_PAGING,
        ],
        responses=_ANSWER,
    )
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)


class ServingLookupApi(APIView):
    """A batch of keys in one request (feature pipelines): the answers in request order."""

    permission_classes = [CanReadServing]
    parser_classes = [JSONParser]

    @extend_schema(request=BatchInputSerializer, responses={200: BatchAnswerSerializer, 400: _BAD_KEY})
    def post(self, request: Request) -> HttpResponse:
        try:
            keys, paging = params.batch_read(
                request.data,
                max_keys=int(conf("BATCH_MAX_KEYS")),
                max_page_size=int(conf("MAX_PAGE_SIZE")),
            )
        except params.KeyProblem as problem:
            raise refused(problem) from None
        return _json(serving_lookup(keys=keys, snapshot=paging.snapshot, page=paging.page, page_size=paging.page_size))


class SnapshotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    event = serializers.IntegerField(allow_null=True)
    keys_changed = serializers.IntegerField()
    keys_removed = serializers.IntegerField()
    edges = serializers.IntegerField()
    timings = serializers.JSONField()
    created_at = serializers.DateTimeField()


class ServingSnapshotListApi(APIView):
    """The feature store's snapshots, newest first (the ids a consumer may pin)."""

    permission_classes = [CanReadServing]

    @extend_schema(responses=SnapshotSerializer(many=True))
    def get(self, request: Request) -> HttpResponse:
        data = SnapshotSerializer(serving_snapshot_list(), many=True).data
        return _json(orjson.dumps(list(data)))
