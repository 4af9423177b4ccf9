"""Reading bounded ranges of partitions with an assigned (not subscribed) consumer."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from paystream.cli.errors import CliError

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


async def partitions_of(c: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    parts = c.partitions_for_topic(topic)
    if parts is None:
        # The consumer learns topics lazily; force a metadata refresh for this one.
        await c._client.force_metadata_update()
        await c._client._wait_on_metadata(topic)
        parts = c.partitions_for_topic(topic)
    return [TopicPartition(topic, p) for p in sorted(parts or ())]


async def read_ranges(
    c: AIOKafkaConsumer,
    ranges: dict[TopicPartition, tuple[int, int]],
    *,
    batch: int = 5000,
    stall_s: float = 30.0,
) -> AsyncIterator[list[Record]]:
    """Every record with start <= offset < end, per partition, in batches. Ends when each
    partition's position reached its end (transaction markers occupy offsets no record has)."""
    pending = {tp: r for tp, r in ranges.items() if r[1] > r[0]}
    if not pending:
        return
    c.assign(list(pending))
    for tp, (start, _end) in pending.items():
        c.seek(tp, start)
    last_progress = time.monotonic()
    while pending:
        got = await c.getmany(*pending, timeout_ms=500, max_records=batch)
        out: list[Record] = []
        for tp, recs in got.items():
            end = pending.get(tp, (0, 0))[1]
            out.extend(r for r in recs if r.offset < end)
        if out:
            last_progress = time.monotonic()
            yield out
        for tp in list(pending):
            if await c.position(tp) >= pending[tp][1]:
                del pending[tp]
                last_progress = time.monotonic()
        if pending and time.monotonic() - last_progress > stall_s:
            stuck = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in pending)
            raise CliError(f"reading stalled for {stall_s:.0f}s on {stuck}")


async def first_records(
    c: AIOKafkaConsumer, positions: dict[TopicPartition, tuple[int, int]]
) -> dict[TopicPartition, Record]:
    """The first record at or after `start` (and before `end`) of each partition."""
    found: dict[TopicPartition, Record] = {}
    ranges = dict(positions)
    async for recs in read_ranges(c, ranges, batch=500):
        for r in recs:
            tp = TopicPartition(r.topic, r.partition)
            if tp not in found:
                found[tp] = r
                c.pause(tp)
        if len(found) == len(ranges):
            break
    return found
