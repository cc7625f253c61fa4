"""Django app config for orders."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "gateway.orders"
    label = "orders"
    default_auto_field = "django.db.models.BigAutoField"
