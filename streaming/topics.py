"""Bind the project's topic specs (``contracts.topics``) to Faust topics of one app."""

from __future__ import annotations

from collections.abc import Callable

import faust

from contracts.topics import TopicSpec


def bind(app: faust.App, spec: TopicSpec, *more: TopicSpec) -> faust.TopicT:
    """The Faust topic for ``spec`` (and ``more``: one source over several topics, as an
    agent that reacts to orders and outcomes needs): raw bytes key and value, never
    declared by Faust.

    ``internal=False`` keeps Faust from creating the topic (the project creates its
    source topics). The partition count is the app's ``topic_partitions``
    (``TOPIC_PARTITIONS``), the one count every saga topic and table changelog shares.
    """
    return app.topic(
        spec.name,
        *(other.name for other in more),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=app.conf.topic_partitions,
        internal=False,
    )


def current_partition() -> int:
    """The partition of the message being processed: where a table write goes.

    Faust writes a table entry to the changelog partition of the current event, so
    code that indexes or forgets entries per partition must know it.
    """
    event = faust.current_event()
    if event is None:
        raise RuntimeError("a table can only be written while processing an event")
    return event.message.partition


def on_reassignment(app: faust.App, callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever partitions are revoked or assigned.

    Tables are restored from their changelogs on every assignment, so in-memory
    indexes of a table (due dates, expiry) must be dropped and rebuilt then.
    """

    async def reassigned(*_: object, **__: object) -> None:
        callback()

    app.on_partitions_revoked.connect(reassigned)
    app.on_partitions_assigned.connect(reassigned)
