from django.urls import path

from serving import apis

# The lean WSGI path (serving/fast.py) answers GET on the first three before Django; these views are the same
# API through the full stack (sessions, the test client, the schema).
api_urlpatterns = [
    path("serving/query/", apis.ServingQueryApi.as_view(), name="api-serving-query"),
    path("serving/product/", apis.ServingProductApi.as_view(), name="api-serving-product"),
    path("serving/pair/", apis.ServingPairApi.as_view(), name="api-serving-pair"),
    path("serving/lookup/", apis.ServingLookupApi.as_view(), name="api-serving-lookup"),
    path("serving/snapshots/", apis.ServingSnapshotListApi.as_view(), name="api-serving-snapshots"),
]
