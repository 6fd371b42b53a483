"""The URL map: HTML pages, the REST API under /api/, its schema and docs, the admin, /healthz and /metrics."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from annotation.urls import api_urlpatterns as annotation_api
from classifiers.urls import api_urlpatterns as classifiers_api
from core import account_views
from core.api.schema_view import CachedSchemaView
from core.api.urls import api_routes
from core.login import RateLimitedLoginView, admin_login
from core.urls import api_urlpatterns as core_api
from core.views import favicon, healthz, healthz_live, healthz_ready, metrics
from curation.urls import api_urlpatterns as curation_api
from filtering.urls import api_urlpatterns as filtering_api
from generation.urls import api_urlpatterns as generation_api
from knowledge.urls import api_urlpatterns as knowledge_api
from lm.urls import api_urlpatterns as lm_api
from pipeline.urls import api_urlpatterns as pipeline_api
from serving.urls import api_urlpatterns as serving_api
from webhooks.urls import api_urlpatterns as webhooks_api

# Resolved in order: the annotation API (the answer path, the hottest by far) first, so that its requests try the
# fewest patterns; then the rest of the API, the pages, the health checks and the admin. Every API path answers
# with and without its trailing slash (``api_routes``: the slash form is canonical, docs/api.md), so each app's
# ``api_urlpatterns`` may write its routes either way.
urlpatterns = [
    path("api/", include(api_routes(annotation_api))),
    path("api/", include(api_routes(knowledge_api))),
    path("api/", include(api_routes(filtering_api))),
    path("api/", include(api_routes(classifiers_api))),
    path("api/", include(api_routes(curation_api))),
    path("api/", include(api_routes(generation_api))),
    path("api/", include(api_routes(lm_api))),
    path("api/", include(api_routes(core_api))),
    path("api/", include(api_routes(pipeline_api))),
    path("api/", include(api_routes(webhooks_api))),
    path("api/", include(api_routes(serving_api))),
    *api_routes(
        [
            path("api/schema/", CachedSchemaView.as_view(), name="api-schema"),
            path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
        ]
    ),
    path("healthz", healthz, name="healthz"),
    path("healthz/live", healthz_live, name="healthz-live"),
    path("healthz/ready", healthz_ready, name="healthz-ready"),
    path("metrics", metrics, name="metrics"),  # Prometheus; private networks or METRICS_TOKEN (core/metrics.py)
    path("login/", RateLimitedLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/tokens/", account_views.tokens, name="account-tokens"),
    path("account/tokens/<int:token_id>/revoke/", account_views.token_revoke, name="account-token-revoke"),
    # browsers ask for /favicon.ico whatever the page links: send them to the SVG rather than log a 404
    path("favicon.ico", favicon),
    path("admin/login/", admin_login),  # the shared password-guessing limits (core/login.py)
    path("admin/", admin.site.urls),
    path("", include("knowledge.urls")),
    path("", include("filtering.urls")),
    path("", include("annotation.urls")),
    path("", include("classifiers.urls")),
    path("", include("lm.urls")),
    path("", include("curation.urls")),
    path("", include("pipeline.urls")),
]

handler404 = "core.api.errors.page_not_found"

admin.site.site_header = "Plausi administration"
admin.site.site_title = "Plausi"
