"""Django app config for operations (DLQ tooling, fault injection, metrics)."""

from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "gateway.operations"
    label = "operations"
    default_auto_field = "django.db.models.BigAutoField"
