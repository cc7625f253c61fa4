"""Create a worker's own Faust topics (table changelogs, the leader topic) before it starts.

Faust declares them itself at start-up, but on a fresh broker its consumer can fetch
metadata while a just-created changelog has no partition leaders yet, cache "0
partitions" for ``metadata_max_age`` (5 minutes) and fail every table write with
``PartitionsMismatch`` meanwhile (seen on a fresh CI broker). Creating them first, and
waiting until every partition has a leader, removes the race. The project creates all
its topics anyway (broker auto-create is off).
"""

from __future__ import annotations

import faust

from contracts.topics import TopicSpec
from kafka_admin.topics import ensure_topics


def internal_topics(app: faust.App) -> list[TopicSpec]:
    """The changelog of every table of ``app``, and its leader topic when it uses one."""
    specs = [
        TopicSpec(
            table.changelog_topic.get_topic_name(),
            partitions=table.partitions or app.conf.topic_partitions,
            configs={"cleanup.policy": "compact"},
        )
        for table in app.tables.values()
    ]
    if not app.conf.topic_disable_leader:
        # faust.assignor.LeaderAssignor's topic: one partition.
        specs.append(TopicSpec(f"{app.conf.id}-__assignor-__leader", partitions=1))
    return specs


def ensure_internal_topics(app: faust.App, bootstrap: str) -> list[str]:
    """Create ``internal_topics(app)`` that are missing; wait until all have leaders."""
    return ensure_topics(
        bootstrap, internal_topics(app), replication_factor=app.conf.topic_replication_factor
    )
