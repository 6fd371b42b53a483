from django.urls import path

from generation import apis

api_urlpatterns = [
    path("generation/runs", apis.GenerationRunListApi.as_view(), name="api-generation-runs"),
    path("generation/runs/<int:run_id>", apis.GenerationRunDetailApi.as_view(), name="api-generation-run"),
]
