"""Routes of the gateway."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from gateway import health
from gateway.analytics import apis as analytics
from gateway.analytics.apis import PageViewsApi, TopProductsApi
from gateway.catalog.apis import ProductListApi
from gateway.orders.apis import OrderCollectionApi, OrderDetailApi

urlpatterns = [
    path("api/orders", OrderCollectionApi.as_view(), name="orders"),
    path("api/orders/<str:order_id>", OrderDetailApi.as_view(), name="order-detail"),
    path("api/products", ProductListApi.as_view(), name="products"),
    path("api/analytics/top-products", TopProductsApi.as_view(), name="top-products"),
    path("api/analytics/pageviews", PageViewsApi.as_view(), name="pageviews"),
    path("", include("gateway.operations.urls")),
    path("", include("dashboard.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", analytics.index, name="index"),
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
]

handler400 = "gateway.errors.bad_request"
handler404 = "gateway.errors.not_found"
handler500 = "gateway.errors.server_error"
