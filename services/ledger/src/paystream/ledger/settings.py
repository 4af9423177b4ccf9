"""Ledger settings: the shared `PAYSTREAM_*` settings with the ledger's own defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from paystream.shared.settings import BaseServiceSettings


class LedgerSettings(BaseServiceSettings):
    service_name: str = "ledger"
    http_port: int = 8003
    # The service's own database on the PostgreSQL server, and its schema migrations.
    database: str = "paystream_ledger"
    migrations_dir: Path = Path(__file__).resolve().parents[3] / "migrations"

    # Larger than the shared default: a backlog of payments is applied in fewer, bigger
    # set-based transactions; when the topic is quiet, batches are as small as what arrived.
    consumer_batch_max: int = Field(default=2000, ge=1)
    # A backlog's batch is granted in three lanes at once (by user): while PostgreSQL writes one
    # lane's lots, the consumer builds the next one's (`make bench`, ledger: see the README).
    consumer_lanes: int = Field(default=3, ge=1, le=8)

    # A setting so tests (and a staging replay) can use their own group.
    ledger_consumer_group: str = "ledger"
    # How long the outbox relay sleeps when the outbox is empty: grants committed by the
    # consumer cannot wake it, so this bounds how late a CreditsGrantedV1 leaves.
    ledger_outbox_idle_s: float = Field(default=0.02, gt=0)

    # Spends are applied in batches (group commit): at most this many per transaction, and this
    # many batches at once (each on its own connection).
    ledger_spend_batch_max: int = Field(default=512, ge=1)
    ledger_spend_in_flight: int = Field(default=2, ge=1)
    # How often the time-driven jobs run (expiry entries and events, notices, hold TTLs). Reads
    # never wait for them: a lot stops counting at the second it expires.
    ledger_jobs_interval_s: float = Field(default=5.0, gt=0)
