"""Watches the end-to-end benchmark's payments along their way: when each one's payment, paid
order and credits were published, so the latency can be told apart by hop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

from paystream.shared.events import (
    CreditsGrantedV1,
    Envelope,
    InvalidEvent,
    OrderPaidV1,
    PaymentSucceededV1,
)
from paystream.shared.kafka_security import PLAINTEXT, KafkaSecurity
from paystream.shared.topics import Topics


@dataclass
class Hops:
    """Per order id, in seconds since the epoch, all on this machine's one clock:
    - `payment`: the `PaymentSucceededV1` record's timestamp (webhook-ingest published it);
    - `paid_made`: the `OrderPaidV1` event's time (checkout's consumer made it);
    - `paid`: that event's record timestamp (checkout's outbox relay published it);
    - `granted`: the ledger's `granted_at` (its transaction's time).

    A record's timestamp is the producer's clock when the record was handed to its client, in
    whole milliseconds."""

    payment: dict[str, float] = field(default_factory=dict)
    paid_made: dict[str, float] = field(default_factory=dict)
    paid: dict[str, float] = field(default_factory=dict)
    granted: dict[str, float] = field(default_factory=dict)


class GrantWatcher:
    def __init__(self, bootstrap: str, topics: Topics, security: KafkaSecurity = PLAINTEXT) -> None:
        self.consumer = AIOKafkaConsumer(
            topics.payments_events,
            topics.orders_events,
            topics.ledger_events,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="latest",
            **security.client_options(),
        )
        self.hops = Hops()

    async def start(self) -> None:
        await self.consumer.start()
        # Pin the starting point now, before the load starts, so no record is missed.
        await self.consumer.seek_to_end()
        for tp in self.consumer.assignment():
            await self.consumer.position(tp)

    def _see(self, value: bytes, timestamp_ms: int, order_ids: set[str]) -> None:
        try:
            env = Envelope.from_bytes(value)
            if env.type == CreditsGrantedV1.TYPE:
                g = env.payload_as(CreditsGrantedV1)
                if g.order_id in order_ids:
                    self.hops.granted[g.order_id] = g.granted_at.timestamp()
            elif env.type == OrderPaidV1.TYPE:
                order_id = str(env.data.get("order_id"))
                if order_id in order_ids:
                    self.hops.paid[order_id] = timestamp_ms / 1000
                    self.hops.paid_made[order_id] = env.time.timestamp()
            elif env.type == PaymentSucceededV1.TYPE:
                order_id = str(env.data.get("order_id"))
                if order_id in order_ids:
                    self.hops.payment[order_id] = timestamp_ms / 1000
        except InvalidEvent:
            return

    async def collect(self, order_ids: set[str], timeout_s: float) -> dict[str, float]:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            batch = await self.consumer.getmany(timeout_ms=500, max_records=5000)
            for recs in batch.values():
                for r in recs:
                    self._see(r.value or b"", r.timestamp, order_ids)
            if order_ids <= self.hops.granted.keys():
                break
        return self.hops.granted

    async def stop(self) -> None:
        await self.consumer.stop()
