"""topics, lag and replay against the real broker, on per-test topics and groups."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from paystream.cli import topics as topic_ops
from paystream.shared.kafka import create_producer
from paystream.shared.topics import TopicSpec

pytestmark = pytest.mark.integration

MakeTopics = Callable[..., Awaitable[None]]
T0 = 1_700_000_000_000  # record timestamps the tests choose, in ms


async def _produce(bootstrap: str, topic: str, per_partition: dict[int, int]) -> None:
    """`n` records into each partition; record i of partition p has timestamp T0 + i seconds."""
    p = create_producer(bootstrap, "cli-test")
    await p.start()
    try:
        for part, n in per_partition.items():
            for i in range(n):
                await p.send_and_wait(
                    topic,
                    f"{part}-{i}".encode(),
                    key=b"k",
                    partition=part,
                    timestamp_ms=T0 + i * 1000,
                )
    finally:
        await p.stop()


async def _commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await c.start()
    try:
        c.assign(list(offsets))
        await c.commit(offsets)
    finally:
        await c.stop()


async def test_cli_topics_ensure_creates_and_corrects(
    cli, kafka_bootstrap: str, make_topics: MakeTopics, unique_suffix: str, monkeypatch
) -> None:
    fresh, drifted = f"cli.fresh.{unique_suffix}", f"cli.drifted.{unique_suffix}"
    forever = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}
    await make_topics(drifted, partitions=2)  # default retention, too few partitions
    monkeypatch.setattr(
        topic_ops,
        "SPECS",
        (TopicSpec(fresh, 3, dict(forever)), TopicSpec(drifted, 4, dict(forever))),
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        code, out = await cli("topics", "ensure")
        assert code == 0, out
        assert out["created"] == [fresh]
        assert out["corrected"] == [drifted]
        changes = next(t for t in out["topics"] if t["name"] == drifted)["changes"]
        assert "partitions 2 -> 4" in changes
        assert any(c.startswith("retention.ms ") and c.endswith("-> -1") for c in changes)

        code, listed = await cli("topics")
        assert code == 0
        by_name = {t["name"]: t for t in listed["topics"]}
        assert by_name[fresh]["partitions"] == 3
        assert by_name[drifted]["partitions"] == 4
        for name in (fresh, drifted):
            assert by_name[name]["retention_ms"] == "-1"
            assert by_name[name]["retention_bytes"] == "-1"
            assert by_name[name]["cleanup_policy"] == "delete"
        # What the broker says, read independently of the command.
        resp = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, drifted)])
        entries = {
            e["config_names"]: e["config_value"]
            for r in resp
            for res in r.to_object()["resources"]
            for e in res["config_entries"]
        }
        assert entries["retention.ms"] == "-1"

        # Converged: a second run changes nothing.
        code, again = await cli("topics", "ensure")
        assert code == 0
        assert again["created"] == []
        assert again["corrected"] == []
    finally:
        existing = set(await admin.list_topics())
        if fresh in existing:
            await admin.delete_topics([fresh])
        await admin.close()


async def test_cli_topics_shows_end_offsets(
    cli, kafka_bootstrap: str, make_topics: MakeTopics, unique_suffix: str
) -> None:
    topic = f"cli.ends.{unique_suffix}"
    await make_topics(topic, partitions=2)
    await _produce(kafka_bootstrap, topic, {0: 3, 1: 1})
    code, out = await cli("topics", "--topic", topic, "--topic", f"cli.none.{unique_suffix}")
    assert code == 0
    t, missing = out["topics"]
    assert t["end_offsets"] == {"0": 3, "1": 1}
    assert t["total_end_offset"] == 4
    assert t["partitions"] == 2
    assert t["replication"] == 1
    assert missing == {"name": f"cli.none.{unique_suffix}", "exists": False}


async def test_cli_lag_counts_and_oldest_unconsumed(
    cli, kafka_bootstrap: str, make_topics: MakeTopics, unique_suffix: str
) -> None:
    topic, group = f"cli.lag.{unique_suffix}", f"cli-lag-{unique_suffix}"
    await make_topics(topic, partitions=2)
    await _produce(kafka_bootstrap, topic, {0: 10, 1: 4})
    await _commit(
        kafka_bootstrap, group, {TopicPartition(topic, 0): 7, TopicPartition(topic, 1): 4}
    )

    code, out = await cli("lag", "--group", group)
    assert code == 0, out
    [g] = out["groups"]
    assert g["group"] == group
    assert g["members"] == 0
    assert g["total_lag"] == 3
    p0, p1 = g["partitions"]
    assert (p0["partition"], p0["committed"], p0["end_offset"], p0["lag"]) == (0, 7, 10, 3)
    # The oldest unconsumed event is the record at the committed offset: offset 7, T0 + 7 s.
    assert datetime.fromisoformat(p0["oldest_unconsumed_at"]) == datetime.fromtimestamp(
        (T0 + 7000) / 1000, UTC
    )
    assert (p1["committed"], p1["end_offset"], p1["lag"], p1["oldest_unconsumed_at"]) == (
        4,
        4,
        0,
        None,
    )

    code, out = await cli("lag", "--group", f"cli-nobody-{unique_suffix}")
    assert code == 5
    assert out["error"]["code"] == "not_found"


async def test_cli_replay_rewinds_one_group_only(
    cli, kafka_bootstrap: str, make_topics: MakeTopics, unique_suffix: str
) -> None:
    topic = f"cli.replay.{unique_suffix}"
    group, other = f"cli-replay-{unique_suffix}", f"cli-other-{unique_suffix}"
    await make_topics(topic, partitions=2)
    await _produce(kafka_bootstrap, topic, {0: 10, 1: 6})
    done = {TopicPartition(topic, 0): 10, TopicPartition(topic, 1): 6}
    await _commit(kafka_bootstrap, group, done)
    await _commit(kafka_bootstrap, other, done)
    from_iso = datetime.fromtimestamp((T0 + 5000) / 1000, UTC).isoformat()
    to_iso = datetime.fromtimestamp((T0 + 8000) / 1000, UTC).isoformat()

    # Dry run: per partition, what the range holds and what the group would read again.
    code, dry = await cli(
        "replay",
        "--topic",
        topic,
        "--group",
        group,
        "--from",
        from_iso,
        "--to",
        to_iso,
        "--dry-run",
    )
    assert code == 0, dry
    p0, p1 = dry["partitions"]
    assert (p0["start_offset"], p0["to_offset"], p0["in_range"], p0["redelivered"]) == (5, 8, 3, 5)
    assert (p1["start_offset"], p1["to_offset"], p1["in_range"], p1["redelivered"]) == (5, 6, 1, 1)
    assert dry["in_range"] == 4
    assert dry["redelivered"] == 6
    assert dry["applied"] is False

    # Without a credential: refused, nothing moved.
    code, out = await cli("replay", "--topic", topic, "--group", group, "--from", from_iso)
    assert code == 4
    assert out["error"]["code"] == "refused"

    # An active group: refused.
    member = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await member.start()
    try:
        while not member.assignment():  # noqa: ASYNC110 - aiokafka offers no event
            await asyncio.sleep(0.05)
        code, out = await cli(
            "replay", "--topic", topic, "--group", group, "--from", from_iso, "--local-operator"
        )
        assert code == 4
        assert out["error"]["code"] == "group_active"
    finally:
        await member.stop()

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        before = await admin.list_consumer_group_offsets(group)
        assert {tp: om.offset for tp, om in before.items()} == done

        code, out = await cli(
            "replay", "--topic", topic, "--group", group, "--from-offset", "0:5", "--local-operator"
        )
        assert code == 0, out
        assert out["applied"] is True
        assert [p["partition"] for p in out["partitions"]] == [0]
        after = await admin.list_consumer_group_offsets(group)
        assert after[TopicPartition(topic, 0)].offset == 5
        assert after[TopicPartition(topic, 1)].offset == 6  # not named: untouched
        untouched = await admin.list_consumer_group_offsets(other)
        assert {tp: om.offset for tp, om in untouched.items()} == done
    finally:
        await admin.close()

    # The group consumes the range again, and only that partition.
    c = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="latest",
    )
    await c.start()
    try:
        got: list[tuple[int, int]] = []
        for _ in range(100):
            batch = await c.getmany(timeout_ms=200)
            got += [(r.partition, r.offset) for recs in batch.values() for r in recs]
            if len(got) >= 5:
                break
        assert sorted(got) == [(0, 5), (0, 6), (0, 7), (0, 8), (0, 9)]
    finally:
        await c.stop()

    # A group behind the range is never moved forward.
    lagging = f"cli-lagging-{unique_suffix}"
    await _commit(kafka_bootstrap, lagging, {TopicPartition(topic, 0): 2})
    code, out = await cli(
        "replay", "--topic", topic, "--group", lagging, "--from-offset", "0:5", "--local-operator"
    )
    assert code == 0
    [row] = out["partitions"]
    assert row["new_committed"] == 2
    assert row["skipped_reason"]


async def test_cli_replay_refuses_a_missing_topic_and_bad_times(cli, unique_suffix: str) -> None:
    code, out = await cli(
        "replay",
        "--topic",
        f"cli.none.{unique_suffix}",
        "--group",
        "g",
        "--from",
        "1h",
        "--dry-run",
    )
    assert code == 5
    assert out["error"]["code"] == "not_found"
    code, out = await cli("replay", "--topic", "t", "--group", "g", "--from", "soon", "--dry-run")
    assert code == 2
    assert out["error"]["code"] == "bad_request"


async def test_cli_unreachable_broker_and_database(cli) -> None:
    code, out = await cli("topics", env={"PAYSTREAM_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert code == 3
    assert out["error"]["code"] == "kafka_unreachable"
    assert out["error"]["message"].startswith("cannot reach Kafka at 127.0.0.1:1: ")
    code, out = await cli("lag", env={"PAYSTREAM_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert code == 3
    assert out["error"]["code"] == "kafka_unreachable"
    code, out = await cli("verify", env={"PAYSTREAM_PG_PORT": "1"})
    assert code == 3
    assert out["error"]["code"] == "database_unreachable"
    assert out["error"]["message"].startswith("cannot reach database paystream_ledger at ")
