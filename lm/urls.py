from django.urls import path

from lm import apis, views

api_urlpatterns = [
    path("lm/training-runs", apis.LMTrainingRunListApi.as_view(), name="api-lm-training-runs"),
    path("lm/training-runs/<int:run_id>", apis.LMTrainingRunDetailApi.as_view(), name="api-lm-training-run"),
    path("lm/versions", apis.LMVersionListApi.as_view(), name="api-lm-versions"),
    path("lm/versions/<int:version_id>", apis.LMVersionDetailApi.as_view(), name="api-lm-version"),
    path("lm/versions/<int:version_id>/activate", apis.LMVersionActivateApi.as_view(), name="api-lm-version-activate"),
]

urlpatterns = [
    path("lm/", views.lm_page, name="lm"),
    path("lm/versions/<int:version_id>/", views.lm_version_page, name="lm-version"),
]
