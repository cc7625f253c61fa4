"""Bind the project's topic specs (``contracts.topics``) to Faust topics of one app."""

from __future__ import annotations

import faust

from contracts.topics import TopicSpec


def bind(app: faust.App, spec: TopicSpec) -> faust.TopicT:
    """The Faust topic for ``spec``: raw bytes key and value, never declared by Faust.

    ``internal=False`` keeps Faust from creating the topic (the project creates its
    source topics). The partition count is the app's ``topic_partitions``
    (``TOPIC_PARTITIONS``), the one count every saga topic and table changelog shares.
    """
    return app.topic(
        spec.name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=app.conf.topic_partitions,
        internal=False,
    )
