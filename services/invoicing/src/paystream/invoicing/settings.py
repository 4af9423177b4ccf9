"""Settings of the invoicing service (`PAYSTREAM_*` environment variables)."""

from __future__ import annotations

from pathlib import Path

from paystream.shared.settings import BaseServiceSettings


class InvoicingSettings(BaseServiceSettings):
    service_name: str = "invoicing"
    http_port: int = 8004
    database: str = "paystream_invoicing"
    migrations_dir: Path = Path(__file__).resolve().parents[3] / "migrations"

    # Prefixed with the service: one environment may configure all four services at once.
    # The group is a setting so tests (and a staging replay) can use their own.
    invoicing_consumer_group: str = "invoicing"
    # Off for an API-only replica: invoices are then issued by the replicas that consume.
    invoicing_run_consumer: bool = True
