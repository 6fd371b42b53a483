from django.urls import path

from core.api import runs

api_urlpatterns = [
    path("runs/", runs.RunListApi.as_view(), name="api-runs"),
    path("runs/<slug:kind>/<int:run_id>/", runs.RunDetailApi.as_view(), name="api-run"),
]
