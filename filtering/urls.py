from django.urls import path

from filtering import apis, views

api_urlpatterns = [
    path("filter-configurations/", apis.FilterConfigurationListApi.as_view(), name="api-filter-configurations"),
    path("filter-runs/", apis.FilterRunListApi.as_view(), name="api-filter-runs"),
    path("filter-runs/<int:run_id>/", apis.FilterRunDetailApi.as_view(), name="api-filter-run"),
    path("filter-runs/<int:run_id>/report/", apis.FilterRunReportApi.as_view(), name="api-filter-run-report"),
    path(
        "candidates/<int:candidate_id>/filter-decisions/",
        apis.CandidateFilterDecisionsApi.as_view(),
        name="api-candidate-filter-decisions",
    ),
]

urlpatterns = [
    path("runs/filter/", views.filter_runs, name="filter-runs"),
    path("runs/filter/<int:run_id>/", views.filter_run_report, name="filter-run-report"),
]
