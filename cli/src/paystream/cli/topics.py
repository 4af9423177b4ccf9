"""`paystream topics` and `paystream topics ensure`: what the broker has, and converging it to the
shared topic configuration (`paystream.shared.topics.TOPICS`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code
from rich.console import Console
from rich.table import Table

from paystream.cli.connect import admin_client, consumer
from paystream.cli.errors import CliError
from paystream.cli.output import Result
from paystream.cli.settings import OperatorSettings
from paystream.shared.topics import TOPICS, TopicSpec

# The configuration `topics ensure` converges to, by logical name; a module attribute so a test
# can point it at its own topic names.
SPECS: Sequence[TopicSpec] = TOPICS


def _specs(settings: OperatorSettings) -> list[TopicSpec]:
    """SPECS under the deployment's topic prefix."""
    topics = settings.topics
    return [TopicSpec(topics.name(s.name), s.partitions, dict(s.config)) for s in SPECS]


SHOWN_CONFIGS = ("retention.ms", "retention.bytes", "cleanup.policy")
# DescribeConfigs `config_source` of a value set on the topic itself.
DYNAMIC_TOPIC_CONFIG = 1


async def topic_configs(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, Any]]:
    """Per topic: {config name: (value, source)}."""
    if not names:
        return {}
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
    )
    out: dict[str, dict[str, Any]] = {}
    for resp in responses:
        for res in resp.to_object()["resources"]:
            if res["error_code"]:
                raise for_code(res["error_code"])(res["error_message"])
            out[res["resource_name"]] = {
                e["config_names"]: (e["config_value"], e["config_source"])
                for e in res["config_entries"]
            }
    return out


async def topic_layout(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, tuple[int, int]]:
    """Per existing topic: (partitions, replication factor)."""
    if not names:
        return {}
    out: dict[str, tuple[int, int]] = {}
    for t in await admin.describe_topics(names):
        if t["error_code"]:
            continue
        parts = t["partitions"]
        out[t["topic"]] = (len(parts), len(parts[0]["replicas"]) if parts else 0)
    return out


async def list_topics(settings: OperatorSettings, names: list[str], show_all: bool) -> Result:
    async with admin_client(settings) as admin:
        existing = set(await admin.list_topics())
        if names:
            wanted = list(names)
        elif show_all:
            wanted = sorted(n for n in existing if not n.startswith("__"))
        else:
            wanted = [s.name for s in _specs(settings)]
        present = [n for n in wanted if n in existing]
        layout = await topic_layout(admin, present)
        configs = await topic_configs(admin, present)
    tps = [TopicPartition(n, p) for n in present for p in range(layout.get(n, (0, 0))[0])]
    ends: dict[TopicPartition, int] = {}
    if tps:
        async with consumer(settings) as c:
            ends = await c.end_offsets(tps)
    rows = []
    for name in wanted:
        if name not in existing:
            rows.append({"name": name, "exists": False})
            continue
        partitions, replication = layout.get(name, (0, 0))
        cfg = configs.get(name, {})
        end = {str(tp.partition): off for tp, off in sorted(ends.items()) if tp.topic == name}
        rows.append(
            {
                "name": name,
                "exists": True,
                "partitions": partitions,
                "replication": replication,
                "retention_ms": cfg.get("retention.ms", (None,))[0],
                "retention_bytes": cfg.get("retention.bytes", (None,))[0],
                "cleanup_policy": cfg.get("cleanup.policy", (None,))[0],
                "end_offsets": end,
                "total_end_offset": sum(end.values()),
            }
        )
    return {"topics": rows}


async def ensure_topics(settings: OperatorSettings) -> Result:
    results: list[dict[str, Any]] = []
    async with admin_client(settings) as admin:
        brokers = len((await admin.describe_cluster())["brokers"])
        existing = set(await admin.list_topics())
        specs = _specs(settings)
        present = [s.name for s in specs if s.name in existing]
        layout = await topic_layout(admin, present)
        configs = await topic_configs(admin, present)
        for spec in specs:
            if spec.name not in existing:
                results.append(await _create(admin, spec, brokers))
            else:
                results.append(
                    await _correct(admin, spec, layout[spec.name][0], configs[spec.name])
                )
    return {
        "topics": results,
        "created": [r["name"] for r in results if r["action"] == "created"],
        "corrected": [r["name"] for r in results if r["action"] == "corrected"],
    }


async def _create(admin: AIOKafkaAdminClient, spec: TopicSpec, brokers: int) -> dict[str, Any]:
    replication = min(3, brokers)
    try:
        await admin.create_topics(
            [NewTopic(spec.name, spec.partitions, replication, topic_configs=dict(spec.config))]
        )
    except TopicAlreadyExistsError:
        # Created meanwhile by a service's own startup: nothing left to do.
        return {"name": spec.name, "action": "ok", "changes": [], "warnings": []}
    changes = [f"created with {spec.partitions} partitions, replication {replication}"]
    changes += [f"{k}={v}" for k, v in sorted(spec.config.items())]
    return {"name": spec.name, "action": "created", "changes": changes, "warnings": []}


async def _correct(
    admin: AIOKafkaAdminClient, spec: TopicSpec, partitions: int, current: dict[str, Any]
) -> dict[str, Any]:
    changes: list[str] = []
    warnings: list[str] = []
    if partitions < spec.partitions:
        await admin.create_partitions({spec.name: NewPartitions(spec.partitions)})
        changes.append(f"partitions {partitions} -> {spec.partitions}")
        # Keys now hash to other partitions: a user's events written before and after the change
        # may be read out of order once. Consumers are idempotent per event, not per order.
        warnings.append("more partitions move keys: let consumers drain before producing again")
    elif partitions > spec.partitions:
        warnings.append(
            f"has {partitions} partitions, more than the {spec.partitions} configured: "
            "left alone (Kafka cannot remove partitions)"
        )
    wrong = {k: v for k, v in spec.config.items() if current.get(k, (None, None))[0] != v}
    if wrong:
        # AlterConfigs replaces the topic's whole dynamic configuration: keep what was set on
        # the topic besides ours.
        keep = {k: v for k, (v, src) in current.items() if src == DYNAMIC_TOPIC_CONFIG}
        responses = await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, spec.name, {**keep, **spec.config})]
        )
        for resp in responses:
            for code, message, _rtype, name in resp.resources:
                if code:
                    raise CliError(f"cannot correct configuration of {name}: {message or code}")
        changes += [f"{k} {current.get(k, (None,))[0]} -> {v}" for k, v in sorted(wrong.items())]
    return {
        "name": spec.name,
        "action": "corrected" if changes else "ok",
        "changes": changes,
        "warnings": warnings,
    }


def render_topics(result: Result, out: Console) -> None:
    table = Table(title="topics")
    for col in (
        "topic",
        "partitions",
        "replication",
        "retention.ms",
        "retention.bytes",
        "cleanup",
        "end offsets",
        "total",
    ):
        table.add_column(col)
    for t in result["topics"]:
        if not t["exists"]:
            table.add_row(t["name"], "[red]missing[/]", "", "", "", "", "", "")
            continue
        ends = " ".join(f"{p}:{o}" for p, o in t["end_offsets"].items())
        table.add_row(
            t["name"],
            str(t["partitions"]),
            str(t["replication"]),
            str(t["retention_ms"]),
            str(t["retention_bytes"]),
            str(t["cleanup_policy"]),
            ends,
            str(t["total_end_offset"]),
        )
    out.print(table)


def render_ensure(result: Result, out: Console) -> None:
    for t in result["topics"]:
        colour = {"created": "green", "corrected": "yellow", "ok": "dim"}[t["action"]]
        out.print(f"[{colour}]{t['action']:>9}[/] {t['name']}", highlight=False)
        for c in t["changes"]:
            out.print(f"           {c}", highlight=False)
        for w in t["warnings"]:
            out.print(f"           [yellow]warning:[/] {w}", highlight=False)
