"""`paystream dlq list|show|retry|purge`: what failed and why, re-driving it, and clearing it.

Kafka cannot delete one record, so what is handled is recorded by the CLI's own consumer group
(`paystream-cli` by default) committed on the DLQ topic: records before its committed offset are
handled; records after it that were retried one by one are listed in the commit's metadata
(`{"retried": [offsets]}`) until the offset moves past them. Purge commits at the end.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import orjson
import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from paystream.cli.connect import admin_client, consumer, producer
from paystream.cli.errors import BadInput, NotFound, Refused
from paystream.cli.lag import committed_offsets
from paystream.cli.output import Result
from paystream.cli.progress import event_progress
from paystream.cli.reading import Record, partitions_of, read_ranges
from paystream.cli.settings import OperatorSettings
from paystream.cli.timeparse import from_ms

RETRY_OF = "paystream_dlq_retry_of"
RETRIED_AT = "paystream_dlq_retried_at"


class Handled:
    """Per partition: committed offset and the offsets above it retried one by one."""

    def __init__(self, committed: dict[TopicPartition, Any]) -> None:
        self.offset: dict[TopicPartition, int] = {}
        self.retried: dict[TopicPartition, set[int]] = {}
        for tp, om in committed.items():
            self.offset[tp] = om.offset
            try:
                meta = json.loads(om.metadata or "{}")
                self.retried[tp] = {int(o) for o in meta.get("retried", [])}
            except (ValueError, TypeError, AttributeError):
                self.retried[tp] = set()

    def start(self, tp: TopicPartition, begin: int) -> int:
        return max(self.offset.get(tp, begin), begin)

    def is_handled(self, tp: TopicPartition, offset: int) -> bool:
        return offset < self.offset.get(tp, 0) or offset in self.retried.get(tp, set())

    def mark(self, tp: TopicPartition, offset: int) -> None:
        self.retried.setdefault(tp, set()).add(offset)

    def commits(self, tps: list[TopicPartition]) -> dict[TopicPartition, tuple[int, str]]:
        """Advance each offset over the contiguous handled records; keep the rest in metadata."""
        out: dict[TopicPartition, tuple[int, str]] = {}
        for tp in tps:
            off = self.offset.get(tp, 0)
            done = self.retried.get(tp, set())
            while off in done:
                off += 1
            rest = sorted(o for o in done if o > off)
            self.offset[tp], self.retried[tp] = off, set(rest)
            out[tp] = (off, json.dumps({"retried": rest}) if rest else "")
        return out


def _headers(rec: Record) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in (rec.headers or ())}


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def summary(rec: Record, handled: Handled) -> dict[str, Any]:
    h = _headers(rec)
    event_type, event_id = h.get("ce_type"), h.get("ce_id")
    if event_type is None or event_id is None:
        try:
            doc = orjson.loads(rec.value or b"")
            if isinstance(doc, dict):
                event_type = event_type or doc.get("type")
                event_id = event_id or doc.get("id")
        except orjson.JSONDecodeError:
            pass
    failed_at = _int(h.get("dlq_failed_at"))
    return {
        "partition": rec.partition,
        "offset": rec.offset,
        "key": rec.key.decode("utf-8", "replace") if rec.key is not None else None,
        "type": event_type,
        "event_id": event_id,
        "error": h.get("dlq_error"),
        "reason": h.get("dlq_reason"),
        "attempts": _int(h.get("dlq_attempts")),
        "original": {
            "topic": h.get("dlq_original_topic"),
            "partition": _int(h.get("dlq_original_partition")),
            "offset": _int(h.get("dlq_original_offset")),
        },
        "consumer_group": h.get("dlq_consumer_group"),
        "failed_at": from_ms(failed_at) if failed_at is not None else None,
        "timestamp": from_ms(rec.timestamp),
        "status": "handled"
        if handled.is_handled(TopicPartition(rec.topic, rec.partition), rec.offset)
        else "pending",
    }


async def _state(
    settings: OperatorSettings, topic: str
) -> tuple[Handled, list[TopicPartition], dict[TopicPartition, int], dict[TopicPartition, int]]:
    async with admin_client(settings) as admin:
        if topic not in await admin.list_topics():
            raise NotFound(f"topic {topic!r} does not exist")
        committed = await committed_offsets(admin, settings.cli_group)
    handled = Handled({tp: om for tp, om in committed.items() if tp.topic == topic})
    async with consumer(settings) as c:
        tps = await partitions_of(c, topic)
        begins = await c.beginning_offsets(tps)
        ends = await c.end_offsets(tps)
    return handled, tps, begins, ends


async def _records(
    c: AIOKafkaConsumer, ranges: dict[TopicPartition, tuple[int, int]]
) -> list[Record]:
    out: list[Record] = []
    async for recs in read_ranges(c, ranges):
        out.extend(recs)
    return sorted(out, key=lambda r: (r.partition, r.offset))


async def list_dlq(settings: OperatorSettings, topic: str, show_all: bool) -> Result:
    handled, tps, begins, ends = await _state(settings, topic)
    ranges = {
        tp: (begins[tp] if show_all else handled.start(tp, begins[tp]), ends[tp]) for tp in tps
    }
    async with consumer(settings) as c:
        recs = await _records(c, ranges)
    rows = [summary(r, handled) for r in recs]
    if not show_all:
        rows = [r for r in rows if r["status"] == "pending"]
    pending_total = sum(1 for r in rows if r["status"] == "pending")
    return {
        "topic": topic,
        "group": settings.cli_group,
        "pending": pending_total,
        "total": sum(ends[tp] - begins[tp] for tp in tps),
        "records": rows,
    }


async def _one(
    settings: OperatorSettings, topic: str, partition: int, offset: int
) -> tuple[Record, Handled]:
    handled, tps, begins, ends = await _state(settings, topic)
    tp = TopicPartition(topic, partition)
    if tp not in tps:
        raise NotFound(f"topic {topic!r} has no partition {partition}")
    if not begins[tp] <= offset < ends[tp]:
        raise NotFound(
            f"no dead letter at {topic}[{partition}]@{offset} "
            f"(offsets {begins[tp]}..{ends[tp] - 1})"
        )
    async with consumer(settings) as c:
        recs = await _records(c, {tp: (offset, offset + 1)})
    if not recs:
        raise NotFound(f"no dead letter at {topic}[{partition}]@{offset}")
    return recs[0], handled


async def show_dlq(settings: OperatorSettings, topic: str, partition: int, offset: int) -> Result:
    rec, handled = await _one(settings, topic, partition, offset)
    out = summary(rec, handled)
    out["topic"] = topic
    out["headers"] = _headers(rec)
    try:
        out["value"] = orjson.loads(rec.value or b"")
    except orjson.JSONDecodeError:
        out["value"] = (rec.value or b"").decode("utf-8", "replace")
    return out


async def retry_dlq(
    settings: OperatorSettings,
    topic: str,
    *,
    partition: int,
    offset: int | None,
    retry_all: bool,
    authorize: Callable[[], object],
    quiet: bool,
) -> Result:
    if (offset is None) == (not retry_all):
        raise BadInput("give either --offset O or --all")
    authorize()
    if offset is not None:
        rec, handled = await _one(settings, topic, partition, offset)
        recs = [rec]
        tps = [TopicPartition(topic, partition)]
    else:
        handled, tps, begins, ends = await _state(settings, topic)
        async with consumer(settings) as c:
            recs = await _records(c, {tp: (handled.start(tp, begins[tp]), ends[tp]) for tp in tps})
    retried: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    async with producer(settings) as p:
        with event_progress(quiet=quiet) as bar:
            task = bar.add_task(f"retry {topic}", total=len(recs))
            for rec in recs:
                bar.advance(task)
                tp = TopicPartition(rec.topic, rec.partition)
                where = {"partition": rec.partition, "offset": rec.offset}
                if handled.is_handled(tp, rec.offset):
                    skipped.append({**where, "reason": "already handled"})
                    continue
                h = _headers(rec)
                original = h.get("dlq_original_topic")
                if not original:
                    skipped.append({**where, "reason": "no dlq_original_topic header"})
                    continue
                headers = [(k, v) for k, v in (rec.headers or ()) if not k.startswith("dlq_")]
                headers += [
                    (RETRY_OF, f"{rec.topic}:{rec.partition}:{rec.offset}".encode()),
                    (RETRIED_AT, str(int(time.time() * 1000)).encode()),
                ]
                meta = await p.send_and_wait(original, rec.value, key=rec.key, headers=headers)
                handled.mark(tp, rec.offset)
                retried.append(
                    {
                        **where,
                        "to_topic": original,
                        "to_partition": meta.partition,
                        "to_offset": meta.offset,
                    }
                )
    if retried:
        await _commit(settings, handled.commits(tps))
    return {"topic": topic, "group": settings.cli_group, "retried": retried, "skipped": skipped}


async def _commit(
    settings: OperatorSettings, offsets: dict[TopicPartition, tuple[int, str]]
) -> None:
    async with consumer(settings, group_id=settings.cli_group) as c:
        c.assign(list(offsets))
        await c.commit(offsets)


async def purge_dlq(
    settings: OperatorSettings,
    topic: str,
    *,
    yes: bool,
    authorize: Callable[[], object],
) -> Result:
    authorize()
    handled, tps, begins, ends = await _state(settings, topic)
    async with consumer(settings) as c:
        recs = await _records(c, {tp: (handled.start(tp, begins[tp]), ends[tp]) for tp in tps})
    pending = [
        r for r in recs if not handled.is_handled(TopicPartition(r.topic, r.partition), r.offset)
    ]
    if pending and not yes:
        try:
            ok = typer.confirm(
                f"purge {len(pending)} pending dead letter(s) of {topic}? They stay in the topic "
                "but will no longer be listed or retried",
                err=True,
            )
        except typer.Abort:
            ok = False
        if not ok:
            raise Refused("purge not confirmed (pass --yes to skip the prompt)")
    if pending:
        await _commit(settings, {tp: (ends[tp], "") for tp in tps})
    return {
        "topic": topic,
        "group": settings.cli_group,
        "purged": len(pending),
        "committed": {str(tp.partition): ends[tp] for tp in tps},
    }


def render_list(result: Result, out: Console) -> None:
    table = Table(title=f"{result['topic']}: {result['pending']} pending of {result['total']}")
    for col in ("p", "offset", "status", "key", "type", "error", "att", "original", "group"):
        table.add_column(col)
    for r in result["records"]:
        o = r["original"]
        table.add_row(
            str(r["partition"]),
            str(r["offset"]),
            r["status"],
            r["key"] or "",
            (r["type"] or "").removeprefix("paystream."),
            (r["error"] or "")[:80],
            str(r["attempts"] or ""),
            f"{o['topic']}[{o['partition']}]@{o['offset']}",
            r["consumer_group"] or "",
        )
    out.print(table)


def render_show(result: Result, out: Console) -> None:
    out.print(
        f"{result['topic']}[{result['partition']}]@{result['offset']}  {result['status']}  "
        f"key={result['key']}",
        highlight=False,
    )
    for k, v in result["headers"].items():
        if k != "dlq_stack":
            out.print(f"  [bold]{k}[/]: {v}", highlight=False)
    if "dlq_stack" in result["headers"]:
        out.print("[bold]dlq_stack[/]:")
        out.print(result["headers"]["dlq_stack"], highlight=False, markup=False)
    value = result["value"]
    text = json.dumps(value, indent=2) if not isinstance(value, str) else value
    out.print(Syntax(text, "json", word_wrap=True))


def render_retry(result: Result, out: Console) -> None:
    for r in result["retried"]:
        out.print(
            f"retried {result['topic']}[{r['partition']}]@{r['offset']} -> "
            f"{r['to_topic']}[{r['to_partition']}]@{r['to_offset']}",
            highlight=False,
        )
    for s in result["skipped"]:
        out.print(f"skipped [{s['partition']}]@{s['offset']}: {s['reason']}", highlight=False)
    if not result["retried"] and not result["skipped"]:
        out.print("nothing pending")


def render_purge(result: Result, out: Console) -> None:
    out.print(f"purged {result['purged']} dead letter(s) of {result['topic']}", highlight=False)
