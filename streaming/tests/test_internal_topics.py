"""A worker's own Faust topics are known before it starts, so they can be created first."""

from config.env import PlatformSettings
from streaming import create_app
from streaming.internal_topics import internal_topics


def test_every_table_changelog_and_the_leader_topic_are_listed() -> None:
    app = create_app("demo", PlatformSettings(), topic_disable_leader=False)
    app.Table("things", partitions=6, key_type=bytes, value_type=bytes)

    specs = {s.name: s for s in internal_topics(app)}

    assert specs["demo-things-changelog"].partitions == 6
    assert specs["demo-things-changelog"].configs == {"cleanup.policy": "compact"}
    assert specs["demo-__assignor-__leader"].partitions == 1


def test_no_leader_topic_when_the_app_has_no_leader() -> None:
    app = create_app("demo", PlatformSettings(), topic_disable_leader=True)

    assert internal_topics(app) == []
