"""Schema migrations with Alembic (plain SQL in `op.execute`), one history per service database.

Each service keeps `migrations/` (env.py + versions/). `upgrade()` runs at service start under a
PostgreSQL advisory lock so several replicas never migrate at once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

_LOCK_ID = 0x7061_7973  # "pays"


def alembic_config(script_location: Path, dsn: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", _sqlalchemy_url(dsn).replace("%", "%%"))
    return cfg


def _sqlalchemy_url(dsn: str) -> str:
    if dsn.startswith("postgresql://"):
        return "postgresql+psycopg://" + dsn.removeprefix("postgresql://")
    return dsn


def upgrade_sync(script_location: Path, dsn: str, revision: str = "head") -> None:
    cfg = alembic_config(script_location, dsn)
    engine = create_engine(_sqlalchemy_url(dsn))
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


async def upgrade(script_location: Path, dsn: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade_sync, script_location, dsn, revision)


def run_env() -> None:
    """Body of every service's migrations/env.py: online migrations on the given connection."""
    from alembic import context

    cfg = context.config
    connection = cfg.attributes.get("connection")
    if connection is None:
        engine = create_engine(cfg.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=None)
            context.run_migrations()
        engine.dispose()
        return
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
