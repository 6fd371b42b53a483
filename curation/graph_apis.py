"""REST API of the graph explorer (curators and admins): node search, a node's neighbourhood page by page, and an
accepted edge with its provenance. Reads only; the explorer page (``static/js/graph.js``) is its client."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import IsCuratorOrAdmin
from curation import graph_selectors as selectors
from curation.apis import CandidateContextSerializer, NodeOutputSerializer
from curation.models import GraphNode


class NodeSearchOutputSerializer(serializers.Serializer):
    results = NodeOutputSerializer(many=True, help_text="Best match first (see the operation's description).")


class NeighbourEdgeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.IntegerField(help_text="The head node's id.")  # type: ignore[assignment]  # Field.source
    target = serializers.IntegerField(help_text="The tail node's id.")
    relation = serializers.CharField()
    category = serializers.CharField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    batch = serializers.IntegerField(allow_null=True)
    accepted_at = serializers.DateTimeField()


class NeighbourhoodSideOutputSerializer(serializers.Serializer):
    shown = serializers.IntegerField(help_text="Edges of this direction in this page.")
    total = serializers.IntegerField(help_text=f"Edges of this direction that match, up to {selectors.COUNT_CAP}.")
    total_exact = serializers.BooleanField(help_text=f"False: more than {selectors.COUNT_CAP} match.")
    more = serializers.BooleanField(help_text="Edges of this direction follow (read them with next_cursor).")


class NeighbourhoodOutputSerializer(serializers.Serializer):
    node = NodeOutputSerializer()
    nodes = NodeOutputSerializer(many=True, help_text="The node and the other end of every edge, once each.")
    edges = NeighbourEdgeOutputSerializer(many=True, help_text="Out-edges then in-edges, each best score first.")
    out = NeighbourhoodSideOutputSerializer()
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as ``cursor`` for the next page; null: done.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["in"] = NeighbourhoodSideOutputSerializer()  # a keyword
        return fields


class BatchRefOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    score_low = serializers.FloatField()
    score_high = serializers.FloatField()
    size = serializers.IntegerField()
    decided_at = serializers.DateTimeField(allow_null=True)
    override_reason = serializers.CharField()


class EdgeProvenanceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    head = NodeOutputSerializer()
    relation = serializers.CharField()
    relation_label = serializers.CharField()
    tail = NodeOutputSerializer()
    product = NodeOutputSerializer(allow_null=True)
    category = serializers.CharField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    candidate = CandidateContextSerializer(allow_null=True, help_text="The candidate (behaviour and statement).")
    batch = BatchRefOutputSerializer(allow_null=True, help_text="The review batch; null for a single decision.")
    audit = serializers.JSONField(help_text="The batch's audit result when it was approved (precision, interval).")
    versions = serializers.JSONField(help_text="The classifier versions (id, token, threshold) per target.")
    curator = serializers.CharField(allow_null=True)
    accepted_at = serializers.DateTimeField()


class GraphNodeSearchApi(APIView):
    """Find nodes by label (case-insensitive substring): the node whose key is the text first, then labels that
    start with it, then labels with a word that starts with it; shorter labels first."""

    permission_classes = [IsCuratorOrAdmin]

    class FilterSerializer(serializers.Serializer):
        search = serializers.CharField(max_length=200, trim_whitespace=True)
        kind = serializers.ChoiceField(choices=GraphNode.Kind.choices, required=False)
        limit = serializers.IntegerField(min_value=1, max_value=selectors.SEARCH_LIMIT_MAX, default=20)

    @extend_schema(
        operation_id="graph_nodes_search", parameters=[FilterSerializer], responses=NodeSearchOutputSerializer
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        found = selectors.graph_node_search(
            text=filters.validated_data["search"],
            kind=filters.validated_data.get("kind"),
            limit=filters.validated_data["limit"],
        )
        return Response(NodeSearchOutputSerializer({"results": found}).data)


class GraphNeighbourhoodApi(APIView):
    """A node's accepted edges, best score first, at most ``limit`` per direction, with the nodes at their other
    ends; a relation or category narrows them. ``out``/``in`` say how many match and whether more follow, and
    ``next_cursor`` reads the next page. Never the whole graph: a hub answers as fast as a leaf."""

    permission_classes = [IsCuratorOrAdmin]

    class FilterSerializer(serializers.Serializer):
        relation = serializers.SlugField(max_length=64, required=False, help_text="A relation's slug.")
        category = serializers.CharField(max_length=200, required=False, help_text="A category's name.")
        direction = serializers.ChoiceField(choices=["both", "out", "in"], default="both")
        limit = serializers.IntegerField(min_value=1, max_value=selectors.NEIGHBOURHOOD_LIMIT_MAX, default=50)
        cursor = serializers.CharField(max_length=500, required=False, help_text="``next_cursor`` of a page.")

    @extend_schema(
        operation_id="graph_node_neighbourhood", parameters=[FilterSerializer], responses=NeighbourhoodOutputSerializer
    )
    def get(self, request: Request, node_id: int) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        node = get_object_or_404(selectors.graph_nodes_of_kind(), pk=node_id)
        try:
            neighbourhood = selectors.graph_neighbourhood(
                node=node,
                filters=selectors.NeighbourhoodFilters(relation=data.get("relation"), category=data.get("category")),
                limit=data["limit"],
                direction=data["direction"],
                cursor=data.get("cursor"),
            )
        except selectors.InvalidCursor as exc:
            raise ValidationError({"cursor": [str(exc)]}) from exc
        return Response(NeighbourhoodOutputSerializer(neighbourhood).data)


class GraphEdgeApi(APIView):
    """An accepted edge with its provenance: the candidate, score, review batch and its audit, the classifier
    versions, the curator and when it was accepted."""

    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(operation_id="graph_edge", responses=EdgeProvenanceOutputSerializer)
    def get(self, request: Request, edge_id: int) -> Response:
        edge = get_object_or_404(selectors.graph_edges(), pk=edge_id)
        return Response(EdgeProvenanceOutputSerializer(selectors.graph_edge_provenance(edge)).data)
