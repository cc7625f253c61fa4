"""The catalog's route as the gateway mounts it, for tests independent of ``gateway.urls``."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from gateway.catalog.apis import ProductListApi

urlpatterns = [
    path("api/products", ProductListApi.as_view(), name="products"),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
]
