"""Watches `ledger.events` for the credits the end-to-end benchmark's payments produce."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer

from paystream.shared.events import CreditsGrantedV1, Envelope, InvalidEvent
from paystream.shared.kafka_security import PLAINTEXT, KafkaSecurity
from paystream.shared.topics import Topics


class GrantWatcher:
    def __init__(self, bootstrap: str, topics: Topics, security: KafkaSecurity = PLAINTEXT) -> None:
        self.consumer = AIOKafkaConsumer(
            topics.ledger_events,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="latest",
            **security.client_options(),
        )
        self.granted: dict[str, float] = {}

    async def start(self) -> None:
        await self.consumer.start()
        # Pin the starting point now, before the load starts, so no grant is missed.
        await self.consumer.seek_to_end()
        for tp in self.consumer.assignment():
            await self.consumer.position(tp)

    async def collect(self, order_ids: set[str], timeout_s: float) -> dict[str, float]:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            batch = await self.consumer.getmany(timeout_ms=500, max_records=5000)
            for recs in batch.values():
                for r in recs:
                    try:
                        env = Envelope.from_bytes(r.value or b"")
                        if env.type != CreditsGrantedV1.TYPE:
                            continue
                        g = env.payload_as(CreditsGrantedV1)
                    except InvalidEvent:
                        continue
                    if g.order_id in order_ids:
                        self.granted[g.order_id] = g.granted_at.timestamp()
            if order_ids <= self.granted.keys():
                break
        return self.granted

    async def stop(self) -> None:
        await self.consumer.stop()
