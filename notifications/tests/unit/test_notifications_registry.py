"""The registry lists each provider once, with what the pipeline and reprocess-raw need of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

from paystream.notifications.registry import BY_NAME, PROVIDERS, reprocess
from paystream.shared.events import Provider, WebhookReceivedV1


def test_each_provider_once_with_its_own_route_settings_and_source() -> None:
    names = [p.name for p in PROVIDERS]
    assert names == ["stripe", "alipay", "wechatpay"]
    assert set(names) <= set(get_args(Provider))
    assert len({p.path for p in PROVIDERS}) == len(PROVIDERS)
    assert {p.name: p for p in PROVIDERS} == BY_NAME
    for p in PROVIDERS:
        assert p.path == f"/webhooks/{p.name}"
        assert p.source == f"paystream/webhook-ingest/{p.name}"
        assert p.settings_type.env_name("x") == f"PAYSTREAM_{p.name.upper()}_X"
        assert p.log.prefix.startswith(f"{p.name}_")
        assert p.doc.summary
        assert p.doc.responses


def test_a_record_no_provider_sent_has_no_normalizer() -> None:
    raw = WebhookReceivedV1(
        provider="usdt_trc20",
        provider_event_id="tx",
        provider_event_type="trc20",
        content_type="application/json",
        body="{}",
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert reprocess(raw) is None
