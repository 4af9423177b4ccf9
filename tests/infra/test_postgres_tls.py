"""PostgreSQL over TLS (PAYSTREAM_PG_SSL_MODE, PAYSTREAM_PG_SSL_ROOT_CERT), against a real server.

The test environment's PostgreSQL stays plaintext (the local stack may); this test starts a
second one from the same binaries, with a certificate signed by a CA made here, and a pg_hba
that refuses every connection without TLS. The services' pool (asyncpg) and the migrations
(psycopg) both connect through `BaseServiceSettings.pg_dsn`, so both are checked."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from tlskit import key_pem, make_ca, pem, server_cert

from paystream.devtools.fakes import free_port
from paystream.shared.db import create_pool
from paystream.shared.migrations import upgrade
from paystream.shared.settings import BaseServiceSettings

REPO = Path(__file__).resolve().parents[2]
LEDGER_MIGRATIONS = REPO / "services" / "ledger" / "migrations"


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert found, "PostgreSQL is not installed: run through `make test`"
    return found[-1].parent


def _as_pg(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root (deploy/local/infra.sh does the same).
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def tls_server() -> Iterator[tuple[int, Path, Path]]:
    """(port, the CA file that signed its certificate, another CA's file)."""
    run_dir = Path(os.environ.get("PAYSTREAM_RUN_DIR", REPO / ".run" / "test"))
    home = run_dir / f"pg-tls-{uuid.uuid4().hex[:8]}"
    data = home / "data"
    home.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    pg = _pg_bin()
    subprocess.run(
        _as_pg([str(pg / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]),
        check=True,
        capture_output=True,
    )
    ca_key, ca = make_ca("paystream test CA")
    key, cert = server_cert(ca_key, ca)
    (data / "server.crt").write_bytes(pem(cert))
    (data / "server.key").write_bytes(key_pem(key))
    (data / "server.key").chmod(0o600)
    port = free_port()
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1'\nport = {port}\n"
            f"unix_socket_directories = '{home}'\n"
            "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
        )
    # TLS or nothing.
    (data / "pg_hba.conf").write_text(
        "hostnossl all all 0.0.0.0/0 reject\nhostssl all all 127.0.0.1/32 trust\n"
    )
    if os.geteuid() == 0:
        for f in ("server.crt", "server.key", "postgresql.conf", "pg_hba.conf"):
            shutil.chown(data / f, "postgres")
    ca_file, other_file = home / "ca.pem", home / "other-ca.pem"
    ca_file.write_bytes(pem(ca))
    other_file.write_bytes(pem(make_ca("someone else's CA")[1]))
    log = home / "postgres.log"
    subprocess.run(
        _as_pg([str(pg / "pg_ctl"), "-D", str(data), "-l", str(log), "-W", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            [str(pg / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]
        ).returncode:
            assert time.monotonic() < deadline, log.read_text() if log.exists() else "no log"
            time.sleep(0.2)
        yield port, ca_file, other_file
    finally:
        subprocess.run(
            _as_pg([str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(home, ignore_errors=True)


def _settings(port: int, **tls: str) -> BaseServiceSettings:
    return BaseServiceSettings(pg_host="127.0.0.1", pg_port=port, **tls)  # type: ignore[arg-type]


async def test_the_pool_and_the_migrations_connect_with_verify_full(
    tls_server: tuple[int, Path, Path],
) -> None:
    port, ca, _ = tls_server
    settings = _settings(port, pg_ssl_mode="verify-full", pg_ssl_root_cert=str(ca))
    pool = await create_pool(settings.pg_dsn("postgres"), min_size=1, max_size=2, wait_s=5)
    try:
        encrypted = await pool.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert encrypted is True
        await pool.execute('CREATE DATABASE "ledger_tls"')
    finally:
        await pool.close()
    # Alembic through psycopg (libpq) reads the same DSN parameters.
    await upgrade(LEDGER_MIGRATIONS, settings.pg_dsn("ledger_tls"))
    conn = await asyncpg.connect(settings.pg_dsn("ledger_tls"))
    try:
        assert await conn.fetchval("SELECT to_regclass('lots') IS NOT NULL")
    finally:
        await conn.close()


async def test_without_tls_the_server_refuses_and_nothing_is_sent_in_clear(
    tls_server: tuple[int, Path, Path],
) -> None:
    port, _, _ = tls_server
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        await asyncpg.connect(_settings(port, pg_ssl_mode="disable").pg_dsn("postgres"))


async def test_a_server_certificate_from_another_ca_is_refused(
    tls_server: tuple[int, Path, Path],
) -> None:
    port, _, other = tls_server
    settings = _settings(port, pg_ssl_mode="verify-full", pg_ssl_root_cert=str(other))
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        await asyncpg.connect(settings.pg_dsn("postgres"))


def test_the_dsn_carries_the_tls_settings_only_when_set() -> None:
    plain = BaseServiceSettings(pg_host="db", pg_port=5432)
    assert plain.pg_dsn("ledger") == "postgresql://postgres:postgres@db:5432/ledger"
    tls = BaseServiceSettings(
        pg_host="db", pg_port=5432, pg_ssl_mode="verify-full", pg_ssl_root_cert="/etc/ca.pem"
    )
    assert tls.pg_dsn("ledger") == (
        "postgresql://postgres:postgres@db:5432/ledger"
        "?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem"
    )
    with pytest.raises(ValueError, match="pg_ssl_mode"):
        BaseServiceSettings(pg_ssl_mode="sometimes")  # type: ignore[arg-type]
