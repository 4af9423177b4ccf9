"""The parts of deploy/local that need no running infrastructure: `infra.sh env`/`status` and
deploy/local/docker_engine.sh (which must tell a Docker engine from a bare client)."""

from __future__ import annotations

import json
import os
import shutil
import socketserver
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "deploy" / "local" / "infra.sh"
ENGINE = REPO / "deploy" / "local" / "docker_engine.sh"


def run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PAYSTREAM_", "DOCKER_"))}
    return subprocess.run(
        cmd, capture_output=True, text=True, env={**base, **env}, timeout=60, check=False
    )


def test_env_prints_exports_for_the_chosen_ports(tmp_path: Path) -> None:
    proc = run(
        [str(INFRA), "env"],
        {
            "PAYSTREAM_RUN_DIR": str(tmp_path / "envtest"),
            "PAYSTREAM_KAFKA_PORT": "39992",
            "PAYSTREAM_PG_PORT": "39932",
            "PAYSTREAM_STRIPE_MOCK_PORT": "39911",
        },
    )
    assert proc.returncode == 0, proc.stderr
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in proc.stdout.strip().splitlines()
    )
    assert exports == {
        "PAYSTREAM_KAFKA_BOOTSTRAP": "127.0.0.1:39992",
        "PAYSTREAM_PG_HOST": "127.0.0.1",
        "PAYSTREAM_PG_PORT": "39932",
        "PAYSTREAM_PG_USER": "postgres",
        "PAYSTREAM_PG_PASSWORD": "postgres",
        "PAYSTREAM_STRIPE_API_BASE": "http://127.0.0.1:39911",
        "PAYSTREAM_RUN_DIR": str(tmp_path / "envtest"),
    }


def test_env_defaults() -> None:
    proc = run([str(INFRA), "env"], {})
    assert proc.returncode == 0, proc.stderr
    assert "export PAYSTREAM_KAFKA_BOOTSTRAP=127.0.0.1:19092" in proc.stdout
    assert "export PAYSTREAM_PG_PORT=15432" in proc.stdout
    assert "export PAYSTREAM_STRIPE_API_BASE=http://127.0.0.1:12111" in proc.stdout
    assert f"export PAYSTREAM_RUN_DIR={REPO}/.run/dev" in proc.stdout


def test_status_of_an_environment_that_never_ran(tmp_path: Path) -> None:
    env = {
        "PAYSTREAM_RUN_DIR": str(tmp_path / "never"),
        "PAYSTREAM_KAFKA_PORT": "39992",
        "PAYSTREAM_PG_PORT": "39932",
        "PAYSTREAM_STRIPE_MOCK_PORT": "39911",
    }
    proc = run([str(INFRA), "status"], env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert [line.split()[:3] for line in lines] == [
        ["kafka", "stopped", "127.0.0.1:39992"],
        ["postgres", "stopped", "127.0.0.1:39932"],
        ["stripe-mock", "stopped", "127.0.0.1:39911"],
    ]
    quiet = run([str(INFRA), "status", "--quiet"], env)
    assert quiet.returncode != 0
    assert quiet.stdout == ""
    # `down` of an environment that never ran is a no-op, not an error.
    assert run([str(INFRA), "down"], env).returncode == 0
    assert not (tmp_path / "never").exists()


def test_unknown_command_is_an_error() -> None:
    proc = run([str(INFRA), "frobnicate"], {})
    assert proc.returncode != 0
    assert "up" in proc.stderr


# ---- docker_engine.sh ----------------------------------------------------------------------------


class _FakeEngine(BaseHTTPRequestHandler):
    """Just enough of the Docker Engine API for `docker info` to succeed."""

    def do_GET(self) -> None:
        if self.path.endswith("/_ping"):
            body = b"OK"
            ctype = "text/plain"
        else:
            body = json.dumps({"ServerVersion": "99.0.0-fake", "OSType": "linux"}).encode()
            ctype = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Api-Version", "1.50")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def address_string(self) -> str:
        return "unix"

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_engine_socket() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as d:  # short path: unix socket paths are limited
        path = os.path.join(d, "docker.sock")
        server = socketserver.ThreadingUnixStreamServer(path, _FakeEngine)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield path
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture
def docker_client() -> str:
    """The real docker client (the engine is faked). Machines of this project's kind ship it;
    without it these tests fail loudly instead of skipping, since a skip proves nothing."""
    client = shutil.which("docker")
    if client is None:
        pytest.fail("these tests need the docker client on PATH (no engine is needed)")
    return client


def test_engine_check_fails_when_no_engine_answers(tmp_path: Path, docker_client: str) -> None:
    proc = run(
        [str(ENGINE)],
        {"DOCKER_HOST": f"unix://{tmp_path}/nothing.sock", "DOCKER_CONFIG": str(tmp_path)},
    )
    assert proc.returncode != 0
    assert "no Docker engine answers" in proc.stderr


def test_engine_check_succeeds_when_an_engine_answers(
    tmp_path: Path, fake_engine_socket: str, docker_client: str
) -> None:
    proc = run(
        [str(ENGINE)],
        {"DOCKER_HOST": f"unix://{fake_engine_socket}", "DOCKER_CONFIG": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert "99.0.0-fake" in proc.stdout


def test_engine_check_fails_without_a_docker_client(tmp_path: Path) -> None:
    # bash is called directly and PATH holds nothing else, so no docker client can be found.
    (tmp_path / "bin").mkdir()
    bash = shutil.which("bash") or "/bin/bash"
    proc = run([bash, str(ENGINE)], {"PATH": str(tmp_path / "bin")})
    assert proc.returncode != 0
    assert "no docker client" in proc.stderr
