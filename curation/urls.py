from django.urls import path

from curation import apis, graph_apis, import_apis, views

api_urlpatterns = [
    path("curation/batches", apis.BatchListApi.as_view(), name="api-batches"),
    path("curation/batches/<int:batch_id>", apis.BatchDetailApi.as_view(), name="api-batch"),
    path("curation/batches/<int:batch_id>/audit", apis.AuditAnswerApi.as_view(), name="api-batch-audit"),
    path("curation/batches/<int:batch_id>/decision", apis.BatchDecisionApi.as_view(), name="api-batch-decision"),
    path(
        "curation/candidates/<int:candidate_id>/decision",
        apis.CandidateDecisionApi.as_view(),
        name="api-candidate-decision",
    ),
    path("curation/queue", apis.QueueApi.as_view(), name="api-curation-queue"),
    path("curation/events", apis.CurationEventsApi.as_view(), name="api-curation-events"),
    path("graph/summary", apis.GraphSummaryApi.as_view(), name="api-graph-summary"),
    path("graph/nodes", graph_apis.GraphNodeSearchApi.as_view(), name="api-graph-nodes"),
    path("graph/nodes/<int:node_id>", apis.GraphNodeApi.as_view(), name="api-graph-node"),
    path(
        "graph/nodes/<int:node_id>/neighbourhood",
        graph_apis.GraphNeighbourhoodApi.as_view(),
        name="api-graph-neighbourhood",
    ),
    path("graph/edges/<int:edge_id>", graph_apis.GraphEdgeApi.as_view(), name="api-graph-edge"),
    path("exports", apis.ExportRunListApi.as_view(), name="api-exports"),
    path("exports/<int:run_id>", apis.ExportRunDetailApi.as_view(), name="api-export"),
    path("exports/<int:run_id>/download", apis.ExportDownloadApi.as_view(), name="api-export-download"),
    path("imports", import_apis.PeerImportApi.as_view(), name="api-imports"),
]

urlpatterns = [
    path("curation/", views.batches, name="curation-batches"),
    path("curation/batches/new", views.batches_create, name="curation-batches-create"),
    path("curation/batches/<int:batch_id>/", views.batch_audit, name="curation-batch"),
    path("graph/", views.graph, name="graph"),
    path("graph/nodes/<int:node_id>/", views.graph_node, name="graph-node"),
    path("graph/edges/<int:edge_id>/", views.graph_edge, name="graph-edge"),
    path("exports/", views.exports, name="exports"),
]
