"""Django app config for the catalog read model."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "gateway.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"
