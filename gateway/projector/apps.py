"""Django app config for the projector (no models: it writes the other apps' tables)."""

from django.apps import AppConfig


class ProjectorConfig(AppConfig):
    name = "gateway.projector"
    label = "projector"
