"""The operator command's settings: the services' `PAYSTREAM_*` names, plus its databases."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from paystream.shared.settings import BaseServiceSettings


class OperatorSettings(BaseServiceSettings):
    service_name: str = "paystream-cli"
    # The services' databases `paystream verify` reads (names on the server, or full DSNs).
    ledger_database: str = "paystream_ledger"
    invoicing_database: str = "paystream_invoicing"
    checkout_database: str = "paystream_checkout"
    # An admin JWT: replay, reprocess-raw and dlq retry/purge need it (or --local-operator).
    operator_token: SecretStr | None = None
    operator_token_file: Path | None = None
    # checkout's HTTP API: `paystream reconcile` reads the settlement and the reconciler there.
    checkout_url: str = "http://127.0.0.1:8001"
    checkout_timeout_s: float = 300.0
    # The CLI's own consumer group: its committed offsets on a DLQ topic mark what is handled.
    cli_group: str = "paystream-cli"

    def dsn(self, database_or_dsn: str) -> str:
        """A database name on the configured server, or a full DSN passed through."""
        if database_or_dsn.startswith(("postgresql://", "postgres://")):
            return database_or_dsn
        return self.pg_dsn(database_or_dsn)
