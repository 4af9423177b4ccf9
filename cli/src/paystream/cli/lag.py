"""`paystream lag`: per consumer group and partition, how far behind the group is, and since when
the oldest event it has not consumed has been waiting."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.table import Table

from paystream.cli.connect import admin_client, consumer
from paystream.cli.errors import NotFound
from paystream.cli.output import Result
from paystream.cli.reading import first_records, partitions_of
from paystream.cli.settings import OperatorSettings
from paystream.cli.timeparse import from_ms


async def group_state(admin: AIOKafkaAdminClient, group: str) -> tuple[str, int]:
    """(state, number of members) of a group, e.g. ("Stable", 2), ("Empty", 0), ("Dead", 0)."""
    for resp in await admin.describe_consumer_groups([group]):
        for g in resp.to_object()["groups"]:
            if g["group"] == group:
                return g["state"], len(g["members"])
    return "Dead", 0


async def committed_offsets(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, Any]:
    """The group's committed OffsetAndMetadata per partition (only those it ever committed)."""
    offsets = await admin.list_consumer_group_offsets(group)
    return {tp: om for tp, om in offsets.items() if om.offset >= 0}


async def lag(settings: OperatorSettings, groups: list[str], topic: str | None) -> Result:
    async with admin_client(settings) as admin:
        names = list(groups) or sorted(g[0] for g in await admin.list_consumer_groups())
        info: list[tuple[str, str, int, dict[TopicPartition, Any]]] = []
        for g in names:
            state, members = await group_state(admin, g)
            committed = await committed_offsets(admin, g)
            if groups and state == "Dead" and not committed:
                raise NotFound(f"consumer group {g!r} does not exist")
            info.append((g, state, members, committed))
    out: list[dict[str, Any]] = []
    async with consumer(settings) as c:
        for g, state, members, committed in info:
            topics = sorted({tp.topic for tp in committed if topic is None or tp.topic == topic})
            tps = [tp for t in topics for tp in await partitions_of(c, t)]
            ends = await c.end_offsets(tps) if tps else {}
            begins = await c.beginning_offsets(tps) if tps else {}
            rows: list[dict[str, Any]] = []
            waiting: dict[TopicPartition, tuple[int, int]] = {}
            for tp in tps:
                com = committed[tp].offset if tp in committed else None
                start = max(com if com is not None else 0, begins[tp])
                behind = max(0, ends[tp] - start)
                if behind:
                    waiting[tp] = (start, ends[tp])
                rows.append(
                    {
                        "topic": tp.topic,
                        "partition": tp.partition,
                        "committed": com,
                        "end_offset": ends[tp],
                        "lag": behind,
                        "oldest_unconsumed_at": None,
                    }
                )
            firsts = await first_records(c, waiting) if waiting else {}
            for row in rows:
                rec = firsts.get(TopicPartition(row["topic"], row["partition"]))
                if rec is not None:
                    row["oldest_unconsumed_at"] = from_ms(rec.timestamp)
            out.append(
                {
                    "group": g,
                    "state": state,
                    "members": members,
                    "total_lag": sum(r["lag"] for r in rows),
                    "partitions": rows,
                }
            )
    return {"groups": out}


def render(result: Result, out: Console) -> None:
    shown = [g for g in result["groups"] if g["partitions"]]
    if not shown:
        out.print("no consumer group has committed offsets on an existing topic")
    for g in shown:
        table = Table(
            title=f"{g['group']}  ({g['state']}, {g['members']} members, lag {g['total_lag']})"
        )
        for col in ("topic", "partition", "committed", "end", "lag", "oldest unconsumed"):
            table.add_column(col)
        for r in g["partitions"]:
            table.add_row(
                r["topic"],
                str(r["partition"]),
                "-" if r["committed"] is None else str(r["committed"]),
                str(r["end_offset"]),
                f"[red]{r['lag']}[/]" if r["lag"] else "0",
                r["oldest_unconsumed_at"] or "",
            )
        out.print(table)
