"""ServiceRuntime on the real broker and database: readiness follows a crashed worker until it
has recovered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from paystream.shared.db import OUTBOX_DDL
from paystream.shared.runtime import ServiceRuntime
from paystream.shared.settings import BaseServiceSettings

pytestmark = pytest.mark.integration


async def test_readiness_shows_a_crashed_worker_and_clears_once_it_recovered(
    infra_settings: BaseServiceSettings,
    fresh_database: Callable[..., Awaitable[str]],
    until: Callable[..., Awaitable[None]],
) -> None:
    dsn = await fresh_database("runtime")
    runtime = ServiceRuntime(infra_settings, database=dsn.rsplit("/", 1)[1])
    runtime.worker_restart_s = 0.1
    runtime.worker_recovered_s = 0.5
    await runtime.start()
    try:
        # No outbox table: every round of the relay crashes (not a transient error).
        runtime.enable_outbox().idle_s = 0.05
        await runtime.start_workers()

        async def failed() -> bool:
            return "outbox-relay" in await runtime.readiness()

        await until(failed, timeout_s=10)
        checks = await runtime.readiness()
        assert "UndefinedTableError" in checks["outbox-relay"]
        assert checks["postgres"] == "ok"
        assert checks["kafka"] == "ok"

        # The fix: the restarted relay now runs its rounds, and readiness clears by itself.
        await runtime.pool.execute(OUTBOX_DDL)

        async def recovered() -> bool:
            return "outbox-relay" not in await runtime.readiness()

        await until(recovered, timeout_s=10)
        assert set((await runtime.readiness()).values()) == {"ok"}
    finally:
        await runtime.stop()


async def test_a_declared_consumer_fetches_and_applies_as_the_settings_say(
    infra_settings: BaseServiceSettings,
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    settings = infra_settings.model_copy(
        update={
            "consumer_batch_max": 321,
            "consumer_lanes": 2,
            "consumer_fetch_min_bytes": 12_345,
            "consumer_fetch_wait_ms": 77,
        }
    )
    dsn = await fresh_database("runtime_fetch")
    runtime = ServiceRuntime(settings, database=dsn.rsplit("/", 1)[1])
    await runtime.start()
    try:

        async def handler(conn: object, items: object) -> None:
            return None

        consumer = runtime.add_consumer(
            topics=[settings.topics.payments_events], group_id="fetch-settings", handler=handler
        )
        assert (consumer.batch_max, consumer.lanes) == (321, 2)
        await consumer.start()
        kafka = consumer.subscriber.consumer
        assert kafka is not None
        # aiokafka keeps what it sends in each fetch request.
        assert (kafka._fetch_min_bytes, kafka._fetch_max_wait_ms) == (12_345, 77)
        await consumer.stop()
        # A consumer off the payment's path may wait longer than the service's setting.
        patient = runtime.add_consumer(
            topics=[settings.topics.ledger_events],
            group_id="fetch-settings-patient",
            handler=handler,
            fetch_wait_ms=150,
        )
        await patient.start()
        kafka = patient.subscriber.consumer
        assert kafka is not None
        assert (kafka._fetch_min_bytes, kafka._fetch_max_wait_ms) == (12_345, 150)
        await patient.stop()
    finally:
        await runtime.stop()
