"""`paystream reprocess-raw`: run the notification normalizers again over `webhooks.raw` and
publish the normalized events (acks=all), for the day a normalizer bug is fixed.

Idempotent: the envelope ids are derived from the provider's event id, so an event published
again is the same event, and consumers' inboxes drop it if it was applied before.

Normalizers are found by provider in `paystream.notifications.registry`, the one webhook-ingest
mounts its routes from. A provider it does not list is counted under `no_normalizer`, never
silently dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka import TopicPartition
from rich.console import Console

from paystream.cli.connect import admin_client, consumer, producer
from paystream.cli.errors import BadInput, NotFound
from paystream.cli.output import Result
from paystream.cli.progress import event_progress
from paystream.cli.reading import partitions_of, read_ranges
from paystream.cli.settings import OperatorSettings
from paystream.cli.timeparse import parse_time, to_ms
from paystream.notifications.registry import reprocess as reprocess_raw
from paystream.shared.events import Envelope, WebhookReceivedV1
from paystream.shared.kafka import envelope_headers


def _key(env: Envelope) -> str:
    user = env.data.get("user_id")
    # The Kafka key is the user id, so a user's events stay in one partition, in order.
    return user if isinstance(user, str) and user else str(env.id)


async def reprocess(
    settings: OperatorSettings,
    *,
    from_time: str,
    to_time: str | None,
    source_topic: str,
    target_topic: str,
    dry_run: bool,
    authorize: Callable[[], object],
    quiet: bool,
) -> Result:
    start_t = parse_time(from_time)
    end_t = parse_time(to_time) if to_time else None
    if end_t is not None and end_t <= start_t:
        raise BadInput("--to must be after --from")
    if not dry_run:
        authorize()
    async with admin_client(settings) as admin:
        existing = set(await admin.list_topics())
    for t in (source_topic, target_topic):
        if t not in existing:
            raise NotFound(f"topic {t!r} does not exist")

    by_provider: dict[str, dict[str, int]] = {}
    errors: list[dict[str, Any]] = []
    to_publish: list[tuple[str, Envelope]] = []

    def stats(provider: str) -> dict[str, int]:
        return by_provider.setdefault(
            provider,
            {"read": 0, "published": 0, "ignored": 0, "no_normalizer": 0, "failed": 0},
        )

    async with consumer(settings) as c:
        tps = await partitions_of(c, source_topic)
        ends = await c.end_offsets(tps)
        starts = await c.offsets_for_times({tp: to_ms(start_t) for tp in tps})
        stops = await c.offsets_for_times({tp: to_ms(end_t) for tp in tps}) if end_t else {}
        ranges: dict[TopicPartition, tuple[int, int]] = {}
        for tp in tps:
            s = starts[tp].offset if starts.get(tp) is not None else ends[tp]
            e = stops[tp].offset if stops.get(tp) is not None else ends[tp]
            ranges[tp] = (s, max(s, e))
        total = sum(e - s for s, e in ranges.values())
        with event_progress(quiet=quiet) as bar:
            task = bar.add_task(f"normalize {source_topic}", total=total)
            async for recs in read_ranges(c, ranges):
                for rec in recs:
                    bar.advance(task)
                    provider = "unknown"
                    try:
                        env = Envelope.from_bytes(rec.value or b"")
                        raw = env.payload_as(WebhookReceivedV1)
                        provider = raw.provider
                        s = stats(provider)
                        s["read"] += 1
                        outgoing = reprocess_raw(raw)
                        if outgoing is None:
                            s["no_normalizer"] += 1
                            continue
                        produced = [ev.envelope() for ev in outgoing]
                    except Exception as exc:  # a record that cannot be normalized is reported
                        s = stats(provider)
                        if provider == "unknown":
                            s["read"] += 1
                        s["failed"] += 1
                        errors.append(
                            {
                                "partition": rec.partition,
                                "offset": rec.offset,
                                "provider": provider,
                                "error": repr(exc)[:500],
                            }
                        )
                        continue
                    if not produced:
                        s["ignored"] += 1
                    for out_env in produced:
                        s["published"] += 1
                        to_publish.append((provider, out_env))

    if not dry_run and to_publish:
        async with producer(settings) as p:
            with event_progress(quiet=quiet) as bar:
                task = bar.add_task(f"publish {target_topic}", total=len(to_publish))
                for i in range(0, len(to_publish), 1000):
                    chunk = to_publish[i : i + 1000]
                    futures = [
                        await p.send(
                            target_topic,
                            env.to_bytes(),
                            key=_key(env).encode(),
                            headers=[*envelope_headers(env), ("paystream_reprocessed", b"1")],
                        )
                        for _, env in chunk
                    ]
                    # acks=all: every record is on the in-sync replicas before this returns.
                    await asyncio.gather(*futures)
                    bar.advance(task, len(chunk))

    def total_of(k: str) -> int:
        return sum(s[k] for s in by_provider.values())

    return {
        "source_topic": source_topic,
        "target_topic": target_topic,
        "dry_run": dry_run,
        "from": start_t.isoformat(),
        "to": end_t.isoformat() if end_t else None,
        "read": total_of("read"),
        "published": total_of("published") if not dry_run else 0,
        "would_publish": total_of("published"),
        "ignored": total_of("ignored"),
        "no_normalizer": total_of("no_normalizer"),
        "failed": total_of("failed"),
        "by_provider": by_provider,
        "errors": errors,
    }


def render(result: Result, out: Console) -> None:
    verb = "would publish" if result["dry_run"] else "published"
    out.print(
        f"{result['source_topic']} -> {result['target_topic']} from {result['from']}"
        + (f" to {result['to']}" if result["to"] else ""),
        highlight=False,
    )
    out.print(
        f"read {result['read']}, {verb} {result['would_publish']}, ignored {result['ignored']}, "
        f"no normalizer {result['no_normalizer']}, failed {result['failed']}",
        highlight=False,
    )
    for provider, s in sorted(result["by_provider"].items()):
        out.print(f"  {provider}: {s}", highlight=False)
    for e in result["errors"][:50]:
        out.print(
            f"  [red]failed[/] p{e['partition']}@{e['offset']} {e['provider']}: {e['error']}",
            highlight=False,
        )
