"""`paystream replay`: re-deliver a range of a topic to ONE consumer group by rewinding that
group's committed offsets (see cli/README.md, "replay: method").

The group must have no members: the command checks first, and the broker refuses a commit for a
group with members anyway. A group is never moved forward (that would skip events it has not
applied); consumers are idempotent, so everything after the range being read again is harmless.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalGenerationError, UnknownMemberIdError
from rich.console import Console
from rich.table import Table

from paystream.cli.connect import admin_client, consumer
from paystream.cli.errors import BadInput, GroupActive, NotFound
from paystream.cli.lag import committed_offsets, group_state
from paystream.cli.output import Result
from paystream.cli.progress import event_progress
from paystream.cli.reading import partitions_of
from paystream.cli.settings import OperatorSettings
from paystream.cli.timeparse import parse_time, to_ms

METHOD = "rewind-offsets"


@dataclass(frozen=True, slots=True)
class OffsetSpec:
    """`P:O` (one partition) or `O` (every partition)."""

    partition: int | None
    offset: int


def parse_offsets(values: list[str], option: str) -> list[OffsetSpec]:
    out: list[OffsetSpec] = []
    for v in values:
        p, sep, o = v.partition(":")
        try:
            out.append(OffsetSpec(int(p), int(o)) if sep else OffsetSpec(None, int(p)))
        except ValueError:
            raise BadInput(f"{option} {v!r}: expected OFFSET or PARTITION:OFFSET") from None
        if out[-1].offset < 0 or (out[-1].partition or 0) < 0:
            raise BadInput(f"{option} {v!r}: offsets and partitions are not negative")
    return out


def _by_partition(specs: list[OffsetSpec], tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    known = {tp.partition: tp for tp in tps}
    out: dict[TopicPartition, int] = {}
    for s in specs:
        if s.partition is None:
            out.update({tp: s.offset for tp in tps})
        elif s.partition not in known:
            raise NotFound(f"topic has no partition {s.partition}")
        else:
            out[known[s.partition]] = s.offset
    return out


async def _offsets_at(
    c: AIOKafkaConsumer, tps: list[TopicPartition], at: datetime, ends: dict[TopicPartition, int]
) -> dict[TopicPartition, int]:
    found = await c.offsets_for_times({tp: to_ms(at) for tp in tps})
    # No record at or after the time: the range starts (or ends) at the partition's end.
    return {tp: (found[tp].offset if found.get(tp) is not None else ends[tp]) for tp in tps}


async def replay(
    settings: OperatorSettings,
    *,
    topic: str,
    group: str,
    from_time: str | None,
    to_time: str | None,
    from_offsets: list[str],
    to_offsets: list[str],
    dry_run: bool,
    wait: bool,
    timeout_s: float,
    authorize: Any,
    quiet: bool,
) -> Result:
    if (from_time is None) == (not from_offsets):
        raise BadInput("give either --from TIME or --from-offset (not both)")
    if to_time is not None and from_time is None:
        raise BadInput("--to goes with --from; with --from-offset use --to-offset")
    if to_offsets and not from_offsets:
        raise BadInput("--to-offset goes with --from-offset")
    start_t = parse_time(from_time) if from_time else None
    end_t = parse_time(to_time) if to_time else None
    if start_t and end_t and end_t <= start_t:
        raise BadInput("--to must be after --from")
    from_specs = parse_offsets(from_offsets, "--from-offset")
    to_specs = parse_offsets(to_offsets, "--to-offset")
    if not dry_run:
        authorize()

    async with admin_client(settings) as admin:
        if topic not in await admin.list_topics():
            raise NotFound(f"topic {topic!r} does not exist")
        state, members = await group_state(admin, group)
        committed = await committed_offsets(admin, group)

    async with consumer(settings) as c:
        tps = await partitions_of(c, topic)
        ends = await c.end_offsets(tps)
        begins = await c.beginning_offsets(tps)
        if start_t is not None:
            starts = await _offsets_at(c, tps, start_t, ends)
            stops = await _offsets_at(c, tps, end_t, ends) if end_t else dict(ends)
        else:
            starts = _by_partition(from_specs, tps)
            stops = {tp: ends[tp] for tp in starts}
            stops.update({tp: o for tp, o in _by_partition(to_specs, tps).items() if tp in starts})

    rows: list[dict[str, Any]] = []
    for tp in sorted(starts, key=lambda t: t.partition):
        start = min(max(starts[tp], begins[tp]), ends[tp])
        stop = min(max(stops[tp], start), ends[tp])
        com = committed[tp].offset if tp in committed else None
        skipped: str | None = None
        if com is None:
            skipped = "never committed: the group reads it from the start anyway"
        elif com <= start:
            skipped = "group behind the range: left alone"  # forward would skip events
        rows.append(
            {
                "partition": tp.partition,
                "committed": com,
                "start_offset": start,
                "to_offset": stop,
                "end_offset": ends[tp],
                "in_range": stop - start,
                "redelivered": 0 if skipped else ends[tp] - start,
                "new_committed": com if skipped else start,
                "skipped_reason": skipped,
            }
        )
    result: Result = {
        "topic": topic,
        "group": group,
        "method": METHOD,
        "dry_run": dry_run,
        "from": start_t.isoformat() if start_t else None,
        "to": end_t.isoformat() if end_t else None,
        "group_state": state,
        "group_members": members,
        "applied": False,
        "in_range": sum(r["in_range"] for r in rows),
        "redelivered": sum(r["redelivered"] for r in rows),
        "partitions": rows,
        "wait": None,
    }
    if dry_run:
        return result
    if members:
        raise GroupActive(
            f"consumer group {group!r} has {members} active member(s) ({state}): stop its "
            "consumers first, a group's offsets can only be rewound while it is empty"
        )
    rewind = {
        TopicPartition(topic, r["partition"]): r["new_committed"]
        for r in rows
        if r["skipped_reason"] is None
    }
    if rewind:
        async with consumer(settings, group_id=group) as c:
            c.assign(list(rewind))
            try:
                await c.commit({tp: (off, "paystream replay") for tp, off in rewind.items()})
            except (CommitFailedError, UnknownMemberIdError, IllegalGenerationError) as exc:
                raise GroupActive(
                    f"the broker refused to rewind group {group!r}, it has members again: {exc}"
                ) from exc
    result["applied"] = True
    if wait and result["redelivered"]:
        result["wait"] = await _follow(settings, group, rows, topic, timeout_s, quiet=quiet)
    return result


async def _follow(
    settings: OperatorSettings,
    group: str,
    rows: list[dict[str, Any]],
    topic: str,
    timeout_s: float,
    *,
    quiet: bool,
) -> dict[str, Any]:
    """Follow the group's committed offsets until it is back at the end offsets of rewind time."""
    targets = {
        TopicPartition(topic, r["partition"]): (r["new_committed"], r["end_offset"])
        for r in rows
        if r["redelivered"]
    }
    total = sum(end - start for start, end in targets.values())
    started = time.monotonic()
    done = 0
    with event_progress(quiet=quiet) as bar:
        task = bar.add_task(f"replay {topic} -> {group}", total=total)
        async with admin_client(settings) as admin:
            while True:
                now = await committed_offsets(admin, group)
                done = sum(
                    min(max((now[tp].offset if tp in now else start) - start, 0), end - start)
                    for tp, (start, end) in targets.items()
                )
                bar.update(task, completed=done)
                if done >= total or time.monotonic() - started > timeout_s:
                    break
                await asyncio.sleep(0.5)
    return {
        "done": done >= total,
        "consumed": done,
        "elapsed_s": round(time.monotonic() - started, 2),
    }


def render(result: Result, out: Console) -> None:
    head = "dry run: would replay" if result["dry_run"] else "replayed"
    span = result["from"] or "offsets"
    table = Table(
        title=f"{head} {result['topic']} -> group {result['group']} from {span}"
        + (f" to {result['to']}" if result["to"] else "")
    )
    for col in ("partition", "committed", "range", "in range", "redelivered", "new committed", ""):
        table.add_column(col)
    for r in result["partitions"]:
        table.add_row(
            str(r["partition"]),
            "-" if r["committed"] is None else str(r["committed"]),
            f"{r['start_offset']}..{r['to_offset']}",
            str(r["in_range"]),
            str(r["redelivered"]),
            "-" if r["new_committed"] is None else str(r["new_committed"]),
            r["skipped_reason"] or "",
        )
    out.print(table)
    out.print(
        f"in range: {result['in_range']}   redelivered to the group: {result['redelivered']}"
        f"   (group {result['group_state']}, {result['group_members']} members)",
        highlight=False,
    )
    if not result["dry_run"]:
        out.print(
            "the group's offsets are rewound: start its consumers to re-read; events already "
            "applied are dropped by their inbox",
            highlight=False,
        )
    if result["wait"]:
        w = result["wait"]
        state = "caught up" if w["done"] else "not caught up (timeout)"
        out.print(f"{state}: {w['consumed']} events in {w['elapsed_s']}s", highlight=False)
