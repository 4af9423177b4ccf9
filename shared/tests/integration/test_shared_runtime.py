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
