"""webhook-ingest settings: defaults and the environment variables operators set. (Each
provider's own settings: notifications/tests/unit/test_notifications_settings.py.)"""

from __future__ import annotations

import pytest

from paystream.webhook_ingest.settings import WebhookIngestSettings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "PAYSTREAM_WEBHOOK_MAX_BODY_BYTES",
        "PAYSTREAM_HTTP_PORT",
        "PAYSTREAM_SERVICE_NAME",
        "PAYSTREAM_KAFKA_ACK_TIMEOUT_S",
    ):
        monkeypatch.delenv(name, raising=False)
    s = WebhookIngestSettings()
    assert (s.service_name, s.http_port) == ("webhook-ingest", 8002)
    assert s.webhook_max_body_bytes == 256 * 1024
    assert s.kafka_ack_timeout_s == 5.0
    assert (s.topics.webhooks_raw, s.topics.payments_events) == ("webhooks.raw", "payments.events")


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYSTREAM_WEBHOOK_MAX_BODY_BYTES", "1024")
    monkeypatch.setenv("PAYSTREAM_KAFKA_ACK_TIMEOUT_S", "0.25")
    s = WebhookIngestSettings()
    assert s.webhook_max_body_bytes == 1024
    assert s.kafka_ack_timeout_s == 0.25
