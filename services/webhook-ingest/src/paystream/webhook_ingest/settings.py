"""webhook-ingest settings: the shared `PAYSTREAM_*` settings with this service's defaults.

The service is stateless: no database settings are used. Each provider's own settings
(`PAYSTREAM_STRIPE_*`, `PAYSTREAM_ALIPAY_*`, `PAYSTREAM_WECHATPAY_*`) are read by its folder in
`paystream.notifications`.
"""

from __future__ import annotations

from pydantic import Field

from paystream.shared.settings import BaseServiceSettings


class WebhookIngestSettings(BaseServiceSettings):
    service_name: str = "webhook-ingest"
    http_port: int = 8002

    # The largest notification body accepted (413 beyond it, checked while reading).
    webhook_max_body_bytes: int = Field(default=256 * 1024, ge=1)
    # How long a request waits for Kafka's acks=all before answering 503 (the provider retries).
    kafka_ack_timeout_s: float = Field(default=5.0, gt=0)
