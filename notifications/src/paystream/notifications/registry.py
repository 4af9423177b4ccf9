"""The providers whose notifications paystream receives, listed once: webhook-ingest mounts a
route for each, and `paystream reprocess-raw` normalizes `webhooks.raw` with the same ones.

Adding a provider is adding its folder under `providers/` and one line here.
"""

from __future__ import annotations

from typing import Any, Final

from paystream.notifications.outgoing import OutgoingEvent
from paystream.notifications.provider import NotificationProvider
from paystream.notifications.providers.alipay.provider import AlipayProvider
from paystream.notifications.providers.stripe.provider import StripeProvider
from paystream.notifications.providers.wechatpay.provider import WeChatPayProvider
from paystream.shared.events import WebhookReceivedV1

PROVIDERS: Final[tuple[NotificationProvider[Any], ...]] = (
    StripeProvider(),
    AlipayProvider(),
    WeChatPayProvider(),
)
BY_NAME: Final[dict[str, NotificationProvider[Any]]] = {p.name: p for p in PROVIDERS}


def reprocess(raw: WebhookReceivedV1) -> list[OutgoingEvent] | None:
    """The payments.events records a `webhooks.raw` record means, with the ids and bytes they had
    when it was received; None when no provider here sent it (USDT deposits are not
    notifications: checkout keeps each transfer in its own database). Raises the provider's
    parse error when the record cannot be read."""
    provider = BY_NAME.get(raw.provider)
    return None if provider is None else list(provider.normalize(raw).events)
