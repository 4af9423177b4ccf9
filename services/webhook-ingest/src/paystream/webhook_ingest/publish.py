"""The two halves every provider route shares: read a notification's body within a size limit,
and publish its records, waiting for Kafka's acks=all, bounded in time.

Every provider endpoint answers its provider only after this returned: a 2xx (or Alipay's
`success`) means the records are on the brokers; KafkaUnavailable means nothing was promised and
the provider retries.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import Request

from paystream.shared.errors import BadRequest, PayloadTooLarge, ServiceUnavailable
from paystream.shared.observability import inject_headers
from paystream.webhook_ingest.records import KafkaHeaders, OutgoingEvent


class KafkaUnavailable(ServiceUnavailable):
    code = "kafka_unavailable"


class AckedPublisher:
    def __init__(self, producer: AIOKafkaProducer, *, ack_timeout_s: float) -> None:
        self._producer = producer
        self._ack_timeout_s = ack_timeout_s

    async def publish(self, events: list[tuple[str, str, OutgoingEvent]]) -> None:
        """Send every (topic, key, event), then wait for all acks together."""
        # One trace context (the current span's) for all of the request's records: injecting
        # costs more than everything else in the headers.
        trace = inject_headers()
        records: list[tuple[str, bytes, bytes, KafkaHeaders]] = []
        for topic, key, ev in events:
            event_id = str(ev.id)
            records.append((topic, key.encode(), ev.value(event_id), ev.headers(trace, event_id)))
        futures: list[asyncio.Future[object]] = []
        try:
            async with asyncio.timeout(self._ack_timeout_s):
                for topic, key_bytes, value, headers in records:
                    futures.append(
                        await self._producer.send(topic, value, key=key_bytes, headers=headers)
                    )
                results = await asyncio.gather(*futures, return_exceptions=True)
        except (TimeoutError, KafkaError) as exc:
            for f in futures:
                # Records already handed to the producer may still fail later; nobody waits for
                # them any more (the caller answers 503 and the provider retries), so consume
                # the outcome here instead of leaving "exception never retrieved" noise.
                f.add_done_callback(_consume)
            raise KafkaUnavailable("Kafka did not acknowledge the event") from exc
        for r in results:
            if isinstance(r, BaseException):
                raise KafkaUnavailable("Kafka refused the event") from r


async def read_limited_body(request: Request, limit: int) -> bytes:
    """A notification's body, refused (413) as soon as it is larger than `limit` bytes: a declared
    Content-Length is checked before reading, a streamed body while reading."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            too_large = int(declared) > limit
        except ValueError:
            raise BadRequest("Content-Length is not a number") from None
        if too_large:
            raise PayloadTooLarge(f"body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _consume(f: asyncio.Future[object]) -> None:
    if not f.cancelled():
        f.exception()
