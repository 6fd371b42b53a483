from django.urls import path

from annotation import apis, views

api_urlpatterns = [
    path("annotation/next", apis.AnnotationNextApi.as_view(), name="api-annotation-next"),
    path("annotation/answers", apis.AnswerCreateApi.as_view(), name="api-annotation-answers"),
    path(
        "annotation/assignments/<int:assignment_id>/skip",
        apis.AssignmentSkipApi.as_view(),
        name="api-annotation-skip",
    ),
    path("annotation/undo", apis.AnswerUndoApi.as_view(), name="api-annotation-undo"),
    path("annotation/release", apis.AssignmentsReleaseApi.as_view(), name="api-annotation-release"),
    path("annotation/agreement", apis.AgreementReportApi.as_view(), name="api-annotation-agreement"),
    path("annotation/labels", apis.LabelListApi.as_view(), name="api-annotation-labels"),
]

urlpatterns = [
    path("annotate/", views.annotate, name="annotate"),
    path("annotation/agreement/", views.agreement, name="annotation-agreement"),
]
