"""webhook-ingest faces the internet: with PAYSTREAM_OPS_PORT its metrics, documents and detailed
readiness are served on a second port, and the public one shows none of them. The real process
(`python -m paystream.webhook_ingest`) on two real sockets, with the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from paystream.devtools.fakes import free_port
from paystream.shared.topics import Topics


@pytest.fixture
def ingest_process(test_topics: Topics, kafka_bootstrap: str) -> Iterator[tuple[str, str]]:
    public, ops = free_port(), free_port()
    env = {
        **os.environ,
        "PAYSTREAM_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PAYSTREAM_TOPIC_PREFIX": test_topics.prefix,
        "PAYSTREAM_HTTP_PORT": str(public),
        "PAYSTREAM_OPS_PORT": str(ops),
        "PAYSTREAM_SANDBOX": "true",
        "PAYSTREAM_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "paystream.webhook_ingest"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{public}", f"http://127.0.0.1:{ops}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                if httpx.get(f"{base[1]}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "webhook-ingest did not become ready"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()


def test_the_public_port_hides_what_the_ops_port_serves(ingest_process: tuple[str, str]) -> None:
    public, ops = ingest_process
    for path in ("/metrics", "/docs", "/openapi.json"):
        assert httpx.get(f"{public}{path}").status_code == 404, path
        assert httpx.get(f"{ops}{path}").status_code == 200, path
    assert httpx.get(f"{public}/readyz").json() == {"status": "ok", "checks": {"kafka": "ok"}}
    assert httpx.get(f"{public}/healthz").json() == {"status": "ok"}
    # The public routes are on the public port only.
    unsigned = httpx.post(f"{public}/webhooks/stripe", content=b"{}")
    assert unsigned.status_code == 400, unsigned.text
    assert httpx.post(f"{ops}/webhooks/stripe", content=b"{}").status_code in (404, 405)
    # What the public port answered is counted, and shown on the ops port.
    metrics = httpx.get(f"{ops}/metrics").text
    assert "paystream_http_requests_total{" in metrics
    assert "/webhooks/stripe" in metrics
