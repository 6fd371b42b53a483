from django.urls import path

from core.api import runs, tokens

api_urlpatterns = [
    path("auth/token/", tokens.TokenApi.as_view(), name="api-token"),
    path("auth/tokens/", tokens.TokenListApi.as_view(), name="api-tokens"),
    path("auth/tokens/<int:token_id>/", tokens.TokenDetailApi.as_view(), name="api-token-detail"),
    path("runs/", runs.RunListApi.as_view(), name="api-runs"),
    path("runs/<slug:kind>/<int:run_id>/", runs.RunDetailApi.as_view(), name="api-run"),
]
