from django.urls import path

from classifiers import apis, views

api_urlpatterns = [
    path("classifiers/versions", apis.ModelVersionListApi.as_view(), name="api-classifier-versions"),
    path(
        "classifiers/versions/<int:version_id>/activate",
        apis.ModelVersionActivateApi.as_view(),
        name="api-classifier-activate",
    ),
    path("classifiers/training-runs", apis.TrainingRunListApi.as_view(), name="api-training-runs"),
    path("classifiers/training-runs/<int:run_id>", apis.TrainingRunDetailApi.as_view(), name="api-training-run"),
    path("classifiers/scoring-runs", apis.ScoringRunListApi.as_view(), name="api-scoring-runs"),
    path("classifiers/scoring-runs/<int:run_id>", apis.ScoringRunDetailApi.as_view(), name="api-scoring-run"),
    path("classifiers/learning-curve", apis.LearningCurveApi.as_view(), name="api-learning-curve"),
]

urlpatterns = [path("classifiers/", views.classifiers_page, name="classifiers")]
