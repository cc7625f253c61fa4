"""Django app config for the analytics read model."""

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "gateway.analytics"
    label = "analytics"
    default_auto_field = "django.db.models.BigAutoField"
