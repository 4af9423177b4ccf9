"""docker-compose.yml is valid and runs the same stack as deploy/local/infra.sh.

There is no Docker engine on the development machines, so the file is validated with the real
`docker compose config` (the Compose CLI plugin, built into .run/tools by `infra.sh compose-tool`:
a few minutes the first time on a fresh machine, instant afterwards) and the parsed, fully
interpolated result is checked.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "deploy" / "local" / "infra.sh"

SERVICES = {  # name -> (python module, port)
    "checkout": ("paystream.checkout", 8001),
    "webhook-ingest": ("paystream.webhook_ingest", 8002),
    "ledger": ("paystream.ledger", 8003),
    "invoicing": ("paystream.invoicing", 8004),
}
INFRASTRUCTURE = {"kafka", "postgres", "stripe-mock"}

# The first test may build the Compose plugin (see the module docstring).
# Integration: building the compose CLI takes minutes on a cold Go cache, not for `make test-unit`.
pytestmark = [pytest.mark.timeout(1800), pytest.mark.integration]


def pinned(name: str) -> str:
    """A version pinned at the top of infra.sh (the one place they are set)."""
    match = re.search(rf"^{name}=(\S+)", INFRA.read_text(), re.MULTILINE)
    assert match, f"{name} not found in {INFRA}"
    return match.group(1)


@pytest.fixture(scope="module")
def compose_cmd() -> list[str]:
    # Building the plugin from source takes ~3.5 min on 2 cores the first time.
    proc = subprocess.run(
        [str(INFRA), "compose-tool"], capture_output=True, text=True, timeout=1500, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return shlex.split(proc.stdout.strip().splitlines()[-1])


def compose(compose_cmd: list[str], *args: str, env: dict[str, str] | None = None) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PAYSTREAM_")}
    proc = subprocess.run(
        [*compose_cmd, "-f", str(REPO / "docker-compose.yml"), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**base, **(env or {})},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"compose {args} failed:\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def config(compose_cmd: list[str]) -> dict[str, Any]:
    compose(compose_cmd, "config", "--quiet")  # the validation proper: exit 0
    parsed: dict[str, Any] = json.loads(compose(compose_cmd, "config", "--format", "json"))
    return parsed


def test_compose_tool_is_the_pinned_compose_v2(compose_cmd: list[str]) -> None:
    out = subprocess.run(
        [*compose_cmd, "version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert pinned("COMPOSE_VERSION") in out


def test_seven_services(config: dict[str, Any]) -> None:
    assert set(config["services"]) == INFRASTRUCTURE | set(SERVICES)


def test_images_pin_the_same_versions_as_infra_sh(config: dict[str, Any]) -> None:
    services = config["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{pinned('KAFKA_VERSION')}"
    assert services["stripe-mock"]["image"] == f"stripe/stripe-mock:{pinned('STRIPE_MOCK_VERSION')}"
    assert services["postgres"]["image"] == "postgres:15"


def test_kafka_is_a_single_kraft_node_like_the_local_one(config: dict[str, Any]) -> None:
    env = config["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_NUM_PARTITIONS"] == "6"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "1"
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"


def test_postgres_creates_the_three_databases(config: dict[str, Any]) -> None:
    volumes = config["services"]["postgres"]["volumes"]
    init = next(v for v in volumes if v["target"] == "/docker-entrypoint-initdb.d")
    sql = "".join(p.read_text() for p in sorted(Path(init["source"]).glob("*.sql")))
    for db in ("paystream_checkout", "paystream_ledger", "paystream_invoicing"):
        assert f"CREATE DATABASE {db};" in sql


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_build_command_port_env(config: dict[str, Any], name: str) -> None:
    module, port = SERVICES[name]
    svc = config["services"][name]
    assert Path(svc["build"]["context"]) == REPO
    assert svc["build"]["dockerfile"] == "Dockerfile"
    assert svc["build"]["args"] == {"SERVICE": name}
    assert svc["command"] == ["python", "-m", module]
    assert [(p["target"], p["published"]) for p in svc["ports"]] == [(port, str(port))]
    env = svc["environment"]
    assert env["PAYSTREAM_HTTP_PORT"] == str(port)
    assert env["PAYSTREAM_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert (env["PAYSTREAM_PG_HOST"], env["PAYSTREAM_PG_PORT"]) == ("postgres", "5432")
    assert (env["PAYSTREAM_PG_USER"], env["PAYSTREAM_PG_PASSWORD"]) == ("postgres", "postgres")
    assert env["PAYSTREAM_STRIPE_API_BASE"] == "http://stripe-mock:12111"
    # Dev defaults when the caller's environment does not set them.
    assert env["PAYSTREAM_JWT_SECRET"]
    assert env["PAYSTREAM_STRIPE_WEBHOOK_SECRETS"]
    assert f":{port}/healthz" in " ".join(svc["healthcheck"]["test"])
    deps = svc["depends_on"]
    assert "kafka" in deps
    assert all(d["condition"] == "service_healthy" for d in deps.values())


def test_every_service_has_a_healthcheck(config: dict[str, Any]) -> None:
    for name, svc in config["services"].items():
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_secrets_come_from_the_environment(compose_cmd: list[str]) -> None:
    out = compose(
        compose_cmd,
        "config",
        "--format",
        "json",
        env={"PAYSTREAM_JWT_SECRET": "s3cret-jwt", "PAYSTREAM_STRIPE_WEBHOOK_SECRETS": "whsec_a"},
    )
    env = json.loads(out)["services"]["checkout"]["environment"]
    assert env["PAYSTREAM_JWT_SECRET"] == "s3cret-jwt"
    assert env["PAYSTREAM_STRIPE_WEBHOOK_SECRETS"] == "whsec_a"


def test_dockerfile_builds_any_service_from_one_recipe() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert "python:3.11-slim" in text
    assert re.search(r"^ARG SERVICE\b", text, re.MULTILINE)
    assert 'uv sync --frozen --no-dev --package "paystream-${SERVICE}"' in text
    assert re.search(r'pip install .*"uv==\$\{UV_VERSION\}"', text)
