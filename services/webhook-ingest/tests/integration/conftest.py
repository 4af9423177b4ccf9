"""webhook-ingest on the real Kafka broker: `start_ingest` runs the app (lifespan entered) with an
HTTP client speaking to it in-process, and reads back what the topics really hold."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from typing import Any, TypeAlias

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from fastapi import FastAPI

from paystream.shared.providers.settings import ProviderSettings
from paystream.shared.topics import PAYMENTS_EVENTS, WEBHOOKS_RAW, Topics
from paystream.webhook_ingest.app import create_app
from paystream.webhook_ingest.settings import WebhookIngestSettings

Record: TypeAlias = ConsumerRecord  # [bytes, bytes]; aiokafka ships no type information
Offsets = dict[TopicPartition, int]
PARTITIONS = 3


class TopicReader:
    """Reads back what webhook-ingest's two topics really hold (with a fresh consumer)."""

    def __init__(self, bootstrap: str, raw: str, payments: str) -> None:
        self.bootstrap = bootstrap
        self.raw_topic, self.payments_topic = raw, payments

    @property
    def topics(self) -> tuple[str, str]:
        return (self.raw_topic, self.payments_topic)

    async def snapshot(self) -> Offsets:
        """The topics' end offsets now; `about` reads what is appended after them."""
        # Subscribing (without a group) makes start() load the topics' partitions.
        consumer = AIOKafkaConsumer(
            *self.topics, bootstrap_servers=self.bootstrap, enable_auto_commit=False
        )
        await consumer.start()
        try:
            tps = [
                TopicPartition(t, p)
                for t in self.topics
                for p in consumer.partitions_for_topic(t) or ()
            ]
            assert tps, f"topics {self.topics} do not exist"
            return dict(await consumer.end_offsets(tps))
        finally:
            await consumer.stop()

    async def about(self, since: Offsets, marker: str = "") -> dict[str, list[Record]]:
        """Records appended since the snapshot whose value mentions `marker`, by topic, in
        offset order within each partition."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        found: dict[str, list[Record]] = {t: [] for t in self.topics}
        needle = marker.encode()
        try:
            tps = list(since)
            consumer.assign(tps)
            end = await consumer.end_offsets(tps)
            for tp, offset in since.items():
                consumer.seek(tp, offset)
            deadline = time.monotonic() + 30
            pending = {tp for tp in tps if since[tp] < end[tp]}
            while pending:
                assert time.monotonic() < deadline, "could not read the topics back"
                for recs in (await consumer.getmany(*pending, timeout_ms=500)).values():
                    found_in = [r for r in recs if r.value is not None and needle in r.value]
                    for rec in found_in:
                        found[rec.topic].append(rec)
                pending = {tp for tp in pending if await consumer.position(tp) < end[tp]}
        finally:
            await consumer.stop()
        for recs in found.values():
            # One key (user) is one partition: offsets are the order of its records.
            recs.sort(key=lambda r: (r.partition, r.offset))
        return found

    async def records(self) -> dict[str, list[Record]]:
        """Everything in the topics (for a test's own topics: everything it published)."""
        return await self.about({tp: 0 for tp in await self.snapshot()})

    async def nothing_published(self) -> bool:
        return await self.records() == {t: [] for t in self.topics}


class Ingest(TopicReader):
    """A running webhook-ingest (lifespan entered), an HTTP client speaking to it in-process,
    and the two topics it publishes to."""

    def __init__(
        self, app: FastAPI, http: httpx.AsyncClient, bootstrap: str, raw: str, payments: str
    ) -> None:
        super().__init__(bootstrap, raw, payments)
        self.app, self.http = app, http


StartIngest = Callable[..., Awaitable[Ingest]]


@pytest.fixture
def default_topics(kafka_bootstrap: str) -> TopicReader:
    """`webhooks.raw` and `payments.events` themselves, where tests mark what is theirs."""
    return TopicReader(kafka_bootstrap, WEBHOOKS_RAW, PAYMENTS_EVENTS)


@pytest.fixture
async def start_ingest(
    kafka_bootstrap: str, make_topics: Callable[..., Awaitable[None]], unique_suffix: str
) -> AsyncIterator[StartIngest]:
    """`await start_ingest(providers={...}, **settings)`: the app with those settings, publishing
    under a topic prefix of its own (`own_topics=False`: the deployment's topics, unless
    `topic_prefix` is given); a provider left out of `providers` reads its settings from the
    environment."""
    async with AsyncExitStack() as stack:

        async def start(
            *,
            providers: Mapping[str, ProviderSettings | None] | None = None,
            own_topics: bool = True,
            **overrides: Any,
        ) -> Ingest:
            values: dict[str, Any] = {"kafka_bootstrap": kafka_bootstrap}
            if own_topics:
                topics = Topics(f"it.ingest.{unique_suffix}.{uuid.uuid4().hex[:6]}.")
                # Made here (the service would make them at start) so that they are deleted after.
                await make_topics(*(s.name for s in topics.specs()), partitions=PARTITIONS)
                values["topic_prefix"] = topics.prefix
            values.update(overrides)
            settings = WebhookIngestSettings(**values)
            app = create_app(settings, providers)
            await stack.enter_async_context(app.router.lifespan_context(app))
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://webhook-ingest"
                )
            )
            return Ingest(
                app,
                http,
                kafka_bootstrap,
                settings.topics.webhooks_raw,
                settings.topics.payments_events,
            )

        yield start
