"""The dashboard as a Django app: its pages, static files and the monitor command."""

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    label = "dashboard"
