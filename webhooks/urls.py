from django.urls import path

from webhooks import apis

api_urlpatterns = [
    path("webhooks/endpoints/", apis.EndpointListApi.as_view(), name="api-webhook-endpoints"),
    path(
        "webhooks/endpoints/<int:endpoint_id>/test/",
        apis.EndpointTestApi.as_view(),
        name="api-webhook-endpoint-test",
    ),
    path("webhooks/deliveries/", apis.DeliveryListApi.as_view(), name="api-webhook-deliveries"),
    path(
        "webhooks/deliveries/<int:delivery_id>/replay/",
        apis.DeliveryReplayApi.as_view(),
        name="api-webhook-delivery-replay",
    ),
]
