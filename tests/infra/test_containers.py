"""The testcontainers path of `make test` (paystream.devtools.containers): a Docker engine is
detected by asking its API, and the containers are the images and versions of
docker-compose.yml and deploy/local/infra.sh.

No Docker engine runs on the development machines (the `docker` client is installed, without an
engine), so the containers themselves cannot start here: these tests check the detection against
fake engines on unix sockets and the container definitions, not a container run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from socketserver import UnixStreamServer

import pytest
import yaml

from paystream.devtools.containers import (
    COMPOSE,
    engine_answers,
    images,
    kafka_container,
    pinned,
    postgres_container,
    stripe_mock_container,
)


class _Engine(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # the Docker API: GET /v1.41/_ping answers "OK"
        ok = self.path.endswith("/_ping") and self.status == 200
        body = b"OK" if ok else b'{"message": "not an engine"}'
        self.send_response(200 if ok else self.status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Api-Version", "1.41")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass

    def address_string(self) -> str:
        return "unix"


class _Server(UnixStreamServer):
    def get_request(self):  # type: ignore[no-untyped-def]
        request, _ = super().get_request()
        return request, ("unix", 0)


def _serve(path: Path, status: int) -> Iterator[str]:
    handler = type("Engine", (_Engine,), {"status": status})
    server = _Server(str(path), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"unix://{path}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_engine(tmp_path: Path) -> Iterator[str]:
    yield from _serve(tmp_path / "docker.sock", 200)


@pytest.fixture
def not_an_engine(tmp_path: Path) -> Iterator[str]:
    yield from _serve(tmp_path / "other.sock", 500)


def test_an_engine_that_answers_its_ping_is_detected(fake_engine: str) -> None:
    assert engine_answers(fake_engine, timeout_s=2) is True


def test_a_socket_without_an_engine_is_not_an_engine(tmp_path: Path, not_an_engine: str) -> None:
    assert engine_answers(f"unix://{tmp_path / 'absent.sock'}", timeout_s=2) is False
    assert engine_answers(not_an_engine, timeout_s=2) is False


def test_detection_asks_the_engine_not_the_client(fake_engine: str, tmp_path: Path) -> None:
    # No `docker` client on PATH, DOCKER_HOST at a fake engine: detected. The client, installed
    # here without an engine, proves nothing either way.
    env = {**os.environ, "PATH": str(tmp_path), "DOCKER_HOST": fake_engine}
    cmd = [sys.executable, "-m", "paystream.devtools.containers", "engine"]
    assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    env["DOCKER_HOST"] = f"unix://{tmp_path / 'absent.sock'}"
    env["PATH"] = os.environ["PATH"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert r.returncode == 1
    assert "no docker engine answers" in r.stderr
    if shutil.which("docker"):
        assert shutil.which("docker")  # a client present does not make an engine


def _compose() -> dict[str, dict[str, object]]:
    services: dict[str, dict[str, object]] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def test_the_containers_are_the_images_of_compose_at_the_pinned_versions() -> None:
    compose = _compose()
    imgs = images()
    assert imgs.kafka == compose["kafka"]["image"] == f"apache/kafka:{pinned('KAFKA_VERSION')}"
    assert imgs.postgres == compose["postgres"]["image"]
    assert imgs.stripe_mock == compose["stripe-mock"]["image"]
    assert imgs.stripe_mock.endswith(pinned("STRIPE_MOCK_VERSION"))


def test_the_container_definitions() -> None:
    imgs = images()
    kafka = kafka_container(imgs.kafka, 39999)
    assert kafka.image == imgs.kafka
    compose_env = _compose()["kafka"]["environment"]
    assert isinstance(compose_env, dict)
    # KRaft as compose runs it; only where it is reached from differs (a host port of the test).
    for key, value in compose_env.items():
        if key in kafka.env and key != "KAFKA_ADVERTISED_LISTENERS":
            assert kafka.env[key] == value, key
    assert kafka.env["KAFKA_ADVERTISED_LISTENERS"].endswith("HOST://127.0.0.1:39999")
    assert kafka.ports == {19092: 39999}
    pg = postgres_container(imgs.postgres)
    assert pg.image == "postgres:15"
    assert pg.env == {"POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": "postgres"}
    assert pg.ports == {5432: None}
    stripe = stripe_mock_container(imgs.stripe_mock)
    assert stripe.image == imgs.stripe_mock
    assert stripe.ports == {12111: None}
