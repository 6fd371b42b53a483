from django.urls import path

from pipeline import apis, views

api_urlpatterns = [
    path("pipeline/", apis.PipelineApi.as_view(), name="api-pipeline"),
    path("events/", apis.EventListApi.as_view(), name="api-events"),
    path("dashboard/charts/", apis.DashboardChartsApi.as_view(), name="api-dashboard-charts"),
]

urlpatterns = [
    path("pipeline/", views.pipeline, name="pipeline"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/plots/<slug:name>.svg", views.dashboard_plot, name="dashboard-plot"),
]
