"""Scaling out by partitions: two instances each of ledger, invoicing and checkout (one consumer
group per service) and two webhook-ingest processes share the load; one instance of each is
killed with SIGKILL under load; the survivors take over the partitions; nothing is lost or
applied twice (`paystream verify`). The takeover time of each group is recorded in
`.run/faults/report.jsonl` (docs/reliability.md)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from cloudevents.core.bindings import kafka as ce_kafka
from faultkit import Deployment, WebhookClient, finish, make_payments, until
from prometheus_client.parser import text_string_to_metric_families

from paystream.devtools.client import WEBHOOK_SECRETS, Harness
from paystream.shared.topics import TOPICS

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

SCALED = ("checkout", "webhook-ingest", "ledger", "invoicing")
PARTITIONS = next(s.partitions for s in TOPICS if s.name == "orders.events")


@dataclass(eq=False)
class TwoIngests(Harness):
    """Plays a load balancer in front of the two webhook-ingest processes: each notification
    goes to the next one in turn; a refused connection is retried by the WebhookClient, and
    the retry goes to the other."""

    ingest_urls: list[str] = field(default_factory=list)
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    async def send_webhook(
        self,
        event: dict[str, Any] | bytes,
        *,
        secret: str = WEBHOOK_SECRETS[0],
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        url = self.ingest_urls[next(self._turn) % len(self.ingest_urls)]
        saved = self.urls["webhook-ingest"]
        self.urls = {**self.urls, "webhook-ingest": url}
        try:
            return await super().send_webhook(
                event, secret=secret, timestamp=timestamp, signature=signature
            )
        finally:
            self.urls = {**self.urls, "webhook-ingest": saved}


async def assignment(bootstrap: str, group: str) -> tuple[str, list[dict[str, list[int]]]]:
    """The group's state and each member's partitions, as the broker's coordinator has them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (resp,) = await admin.describe_consumer_groups([group])
        (g,) = (g for g in resp.to_object()["groups"] if g["group"] == group)
        members = []
        for m in g["members"]:
            raw = m["member_assignment"]
            held = ConsumerProtocolMemberAssignment.decode(raw).assignment if raw else []
            members.append({t: sorted(ps) for t, ps in held})
        return g["state"], members
    finally:
        await admin.close()


async def _lag_partitions(http: httpx.AsyncClient, url: str, group: str) -> dict[str, float]:
    """`topic[partition]` -> lag, as the instance at `url` reports it in /metrics."""
    text = (await http.get(f"{url}/metrics")).text
    return {
        f"{s.labels['topic']}[{s.labels['partition']}]": s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == "paystream_consumer_lag_messages" and s.labels.get("group") == group
    }


async def test_two_instances_of_each_service_survive_losing_one(
    deployment: Deployment, group_offsets: Callable[..., Awaitable[Any]], read_topic: Any
) -> None:
    d = deployment
    for name in SCALED:
        d.start_instance(name, 0)
        d.start_instance(name, 1)
    await d.ready()
    harness = TwoIngests(
        urls=d.urls,
        http=d.http,
        ingest_urls=[d.instance_url("webhook-ingest", i) for i in (0, 1)],
    )
    # Who consumes what: the topic whose partitions each group's takeover is timed on.
    groups = {
        "ledger": (d.ledger_group, d.orders_topic),
        "invoicing": (d.invoicing_group, d.orders_topic),
        "checkout": (d.checkout_group, d.payments_topic),
    }
    payments = make_payments(d.tag, 1500, users=240)
    await d.place_orders(payments)
    client = WebhookClient(harness, concurrency=16, rate=60, retry_s=0.2)
    delivery_task = asyncio.create_task(client.deliver(payments, timeout_s=240))

    bootstrap = d.settings.kafka_bootstrap

    async def both_instances_consume() -> bool:
        # The coordinator gave each group's two members a share of the partitions, and the
        # stream is flowing.
        for group, topic in groups.values():
            state, members = await assignment(bootstrap, group)
            if state != "Stable" or len(members) != 2:
                return False
            if not all(m.get(topic) for m in members):
                return False
        return len(await d.grants()) >= 150

    await until(both_instances_consume, 90, "both instances of each group consuming")
    before = {n: await group_offsets(g, t, PARTITIONS) for n, (g, t) in groups.items()}
    shares = {n: (await assignment(bootstrap, g))[1] for n, (g, _) in groups.items()}
    killed_at = time.monotonic()
    for name in SCALED:
        d.kill9(name)  # instance 0 of each, at once, mid-stream

    takeover: dict[str, float] = {}

    async def watch(name: str) -> None:
        group, topic = groups[name]
        start = {p: (c or 0) for p, (c, _) in before[name].items()}

        async def every_partition_moved_on() -> bool:
            # One member left, holding every partition, and applying on each of them.
            state, members = await assignment(bootstrap, group)
            if state != "Stable" or len(members) != 1:
                return False
            if members[0].get(topic) != list(range(PARTITIONS)):
                return False
            now = await group_offsets(group, topic, PARTITIONS)
            return all((c or 0) > start[p] for p, (c, _) in now.items())

        await until(every_partition_moved_on, 90, f"{name}: the survivor takes every partition")
        takeover[name] = round(time.monotonic() - killed_at, 2)

    await asyncio.gather(*(watch(n) for n in groups))
    delivery = await delivery_task
    await d.wait_applied(delivery.acknowledged)
    # Ingest is stateless: nothing to take over. What its kill cost is the connections refused
    # (`transport_errors`), each retried and acknowledged by the survivor.
    assert delivery.transport_errors > 0

    # The survivors report lag for every partition of their topics, and it drains to zero.
    for name in ("ledger", "invoicing", "checkout"):
        group, topic = groups[name]
        url = d.instance_url(name, 1)

        async def drained(url: str = url, group: str = group, topic: str = topic) -> bool:
            lag = await _lag_partitions(d.http, url, group)
            mine = {k: v for k, v in lag.items() if k.startswith(f"{topic}[")}
            return len(mine) == PARTITIONS and sum(mine.values()) == 0

        await until(drained, 30, f"{name}: the survivor reports every partition, lag 0")

    # What the services wrote follows the CloudEvents Kafka binding (structured mode).
    for topic in (d.payments_topic, d.orders_topic, d.ledger_events_topic):
        records = await read_topic(topic, expect=len(payments), wait_s=20)
        assert len(records) >= len(payments), topic
        for rec in records[:200]:
            headers = dict(rec.headers)
            assert headers["content-type"] == b"application/cloudevents+json", topic
            event = ce_kafka.from_structured_event(
                ce_kafka.KafkaMessage(headers=headers, key=rec.key, value=rec.value)
            )
            assert event.get_specversion() == "1.0"

    figures = await finish(
        d,
        "scale_out_kill_9_one_of_two",
        payments,
        delivery,
        instances_per_service=2,
        partitions=PARTITIONS,
        takeover_s=takeover,
        shares_before_kill=shares,
    )
    assert figures["applied"] == len(payments)
