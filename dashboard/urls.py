"""Routes of the dashboard's pages and its login."""

from django.contrib.auth import views as auth
from django.urls import path

from dashboard import chaos, views
from gateway.operations.auth import StaffLoginView

urlpatterns = [
    path("dashboard/", views.orders, name="dashboard-orders"),
    path("dashboard/top-products", views.top_products, name="dashboard-top-products"),
    path("dashboard/groups", views.groups, name="dashboard-groups"),
    path("dashboard/health", views.health, name="dashboard-health"),
    path("dashboard/ops", views.ops, name="dashboard-ops"),
    path("api/dashboard/status", views.status, name="dashboard-status"),
    path("api/dashboard/history", views.history_view, name="dashboard-history"),
    path("api/dashboard/chaos", chaos.ChaosApi.as_view(), name="dashboard-chaos"),
    path(
        "login",
        StaffLoginView.as_view(
            template_name="dashboard/login.html",
            extra_context={"title": "Staff login", "pages": views.PAGES},
        ),
        name="login",
    ),
    path("logout", auth.LogoutView.as_view(next_page="/dashboard/"), name="logout"),
]
