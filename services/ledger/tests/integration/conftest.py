"""Fixtures shared by the ledger's integration tests (the root conftest has the infrastructure)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@pytest.fixture
async def pool(
    fresh_database: Callable[[str, Path | None], Awaitable[str]],
    pool_for: Callable[[str], Awaitable[asyncpg.Pool]],
) -> asyncpg.Pool:
    """A pool on a fresh, migrated ledger database (dropped after the test)."""
    return await pool_for(await fresh_database("ledger", MIGRATIONS))
