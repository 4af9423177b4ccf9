"""Kafka, PostgreSQL and stripe-mock in containers (testcontainers), where a Docker engine
answers; `make test` uses the local infrastructure (deploy/local/infra.sh) otherwise.

    python -m paystream.devtools.containers engine        exit 0 if an engine answers
    python -m paystream.devtools.containers run -- CMD    start the three, run CMD with their
                                                          PAYSTREAM_* settings, stop them

The engine is detected by ASKING it (the Docker API's /_ping on DOCKER_HOST or the default
socket), never by finding the `docker` client, which machines without an engine have too. The
images are those of docker-compose.yml, at the versions deploy/local/infra.sh pins.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[4]
COMPOSE = REPO / "docker-compose.yml"
INFRA = REPO / "deploy" / "local" / "infra.sh"


def engine_answers(base_url: str | None = None, timeout_s: float = 5.0) -> bool:
    """True when a Docker engine answers its API's ping at `base_url` (default: DOCKER_HOST,
    else the local socket)."""
    # The Docker SDK (testcontainers' dependency) is a test dependency, imported when used.
    import docker
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    url = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        api = docker.APIClient(base_url=url, version="1.41", timeout=int(max(1, timeout_s)))
        try:
            return bool(api.ping())
        finally:
            api.close()
    except (DockerException, RequestException, OSError):
        return False


def pinned(name: str) -> str:
    """A version pinned at the top of infra.sh (the one place they are set)."""
    match = re.search(rf"^{name}=(\S+)", INFRA.read_text(), re.MULTILINE)
    if match is None:
        raise LookupError(f"{name} not set in {INFRA}")
    return match.group(1)


@dataclass(frozen=True)
class Images:
    kafka: str
    postgres: str
    stripe_mock: str


def images() -> Images:
    return Images(
        kafka=f"apache/kafka:{pinned('KAFKA_VERSION')}",
        # Debian's PostgreSQL major on these machines, as docker-compose.yml runs it.
        postgres="postgres:15",
        stripe_mock=f"stripe/stripe-mock:{pinned('STRIPE_MOCK_VERSION')}",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ContainerSpec:
    """What a container is: testcontainers builds it only where an engine answers (its objects
    connect to the engine as they are made)."""

    image: str
    env: dict[str, str]
    ports: dict[int, int | None]  # container port -> fixed host port, or None for any
    command: str | None = None
    ready_log: str = ""
    ready_count: int = 1

    def build(self) -> tuple[Any, Callable[[], object]]:
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.waiting_utils import wait_for_logs

        c = DockerContainer(self.image)
        for k, v in self.env.items():
            c = c.with_env(k, v)
        for port, host in self.ports.items():
            c = c.with_bind_ports(port, host) if host else c.with_exposed_ports(port)
        if self.command:
            c = c.with_command(self.command)
        log, n = self.ready_log, self.ready_count
        return c, lambda: wait_for_logs(c, lambda logs: logs.count(log) >= n, timeout=120)


def kafka_container(image: str, port: int) -> ContainerSpec:
    """apache/kafka in KRaft mode, as docker-compose.yml configures it, advertised on a fixed
    host port (the broker must name the address clients reach it at)."""
    return ContainerSpec(
        image=image,
        env={
            "KAFKA_NODE_ID": "1",
            "KAFKA_PROCESS_ROLES": "broker,controller",
            "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
            "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093,HOST://:19092",
            "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://localhost:9092,HOST://127.0.0.1:{port}",
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
            "HOST:PLAINTEXT",
            "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
            "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
            "KAFKA_NUM_PARTITIONS": "6",
            "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
            "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        },
        ports={19092: port},
        ready_log="Kafka Server started",
    )


def postgres_container(image: str) -> ContainerSpec:
    return ContainerSpec(
        image=image,
        env={"POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": "postgres"},
        ports={5432: None},
        command="postgres -c max_connections=300 -c fsync=off",
        # The image's entrypoint starts a temporary server first: ready is the second start.
        ready_log="database system is ready to accept connections",
        ready_count=2,
    )


def stripe_mock_container(image: str) -> ContainerSpec:
    return ContainerSpec(image=image, env={}, ports={12111: None}, ready_log="Listening for HTTP")


def control(component: str, action: str) -> None:
    """Stop or start the container of `component` (kafka|postgres) of the running `run`: what
    the fault tests do to the local infrastructure with infra.sh."""
    import docker

    ids = json.loads(os.environ["PAYSTREAM_CONTAINERS"])
    container = docker.from_env().containers.get(ids[component])
    if action == "stop":
        container.stop(timeout=10)
    else:
        container.start()


def run(command: list[str]) -> int:
    """Start the three containers, run `command` with their settings, then remove them."""
    imgs = images()
    kafka_port = _free_port()
    with ExitStack() as stack:
        started = {}
        for name, spec in (
            ("kafka", kafka_container(imgs.kafka, kafka_port)),
            ("postgres", postgres_container(imgs.postgres)),
            ("stripe-mock", stripe_mock_container(imgs.stripe_mock)),
        ):
            container, ready = spec.build()
            started[name] = (stack.enter_context(container), ready)
        for _, ready in started.values():
            ready()
        kafka, pg, stripe = (started[n][0] for n in ("kafka", "postgres", "stripe-mock"))
        env = {
            **os.environ,
            "PAYSTREAM_KAFKA_BOOTSTRAP": f"127.0.0.1:{kafka_port}",
            "PAYSTREAM_PG_HOST": pg.get_container_host_ip(),
            "PAYSTREAM_PG_PORT": str(pg.get_exposed_port(5432)),
            "PAYSTREAM_PG_USER": "postgres",
            "PAYSTREAM_PG_PASSWORD": "postgres",
            "PAYSTREAM_STRIPE_API_BASE": (
                f"http://{stripe.get_container_host_ip()}:{stripe.get_exposed_port(12111)}"
            ),
            # Fault tests stop and start Kafka and PostgreSQL through these containers.
            "PAYSTREAM_CONTAINERS": json.dumps(
                {
                    "kafka": kafka.get_wrapped_container().id,
                    "postgres": pg.get_wrapped_container().id,
                }
            ),
        }
        return subprocess.run(command, env=env, check=False).returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    sub.add_parser("engine", help="exit 0 if a Docker engine answers")
    r = sub.add_parser("run", help="run a command with the infrastructure in containers")
    r.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if args.what == "engine":
        answers = engine_answers()
        print("docker engine answers" if answers else "no docker engine answers", file=sys.stderr)
        sys.exit(0 if answers else 1)
    command = [c for c in args.command if c != "--"] if args.command[:1] == ["--"] else args.command
    sys.exit(run(command))


if __name__ == "__main__":
    main()
