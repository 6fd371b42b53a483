from django.urls import path

from knowledge import apis, views

api_urlpatterns = [
    path("me/", apis.MeApi.as_view(), name="api-me"),
    path("relations/", apis.RelationListApi.as_view(), name="api-relations"),
    path("candidates/", apis.CandidateListApi.as_view(), name="api-candidates"),
    path("candidates/<int:candidate_id>/", apis.CandidateDetailApi.as_view(), name="api-candidate"),
    path("ingest/", apis.IngestCreateApi.as_view(), name="api-ingest"),
    path("ingest-runs/", apis.IngestRunListApi.as_view(), name="api-ingest-runs"),
    path("ingest-runs/<int:run_id>/", apis.IngestRunDetailApi.as_view(), name="api-ingest-run"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("runs/ingest/", views.ingest_runs, name="ingest-runs"),
]
