"""Django app config for the outbox and its relay."""

from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "gateway.outbox"
    label = "outbox"
    default_auto_field = "django.db.models.BigAutoField"
