"""WebSocket routes of the dashboard (wrapped in the origin check by gateway.asgi)."""

from django.urls import path

from dashboard.consumers import DashboardConsumer

websocket_urlpatterns = [path("ws/dashboard", DashboardConsumer.as_asgi())]
