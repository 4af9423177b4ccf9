"""One entry point to normalize a `webhooks.raw` record again, whichever provider sent it.

`paystream reprocess-raw` uses this on the day a normalizer bug is fixed: the events come out
with the same deterministic ids as when the notification was first received, so consumers'
inboxes drop what was already applied and only what the bug lost is new.
"""

from __future__ import annotations

from collections.abc import Callable

from paystream.shared.events import WebhookReceivedV1
from paystream.webhook_ingest.alipay_normalize import normalize_alipay_received
from paystream.webhook_ingest.normalize import normalize_received
from paystream.webhook_ingest.records import OutgoingEvent
from paystream.webhook_ingest.wechatpay import normalize_wechatpay_received


def _stripe(raw: WebhookReceivedV1) -> list[OutgoingEvent]:
    return list(normalize_received(raw).events)


def _alipay(raw: WebhookReceivedV1) -> list[OutgoingEvent]:
    return [event for _key, event in normalize_alipay_received(raw)]


def _wechatpay(raw: WebhookReceivedV1) -> list[OutgoingEvent]:
    event = normalize_wechatpay_received(raw).event
    return [] if event is None else [event]


# USDT deposits are not notifications: checkout's watcher records each transfer it saw (with the
# raw TronGrid row) in its own database, so there is nothing in webhooks.raw to reprocess.
REPROCESSORS: dict[str, Callable[[WebhookReceivedV1], list[OutgoingEvent]]] = {
    "stripe": _stripe,
    "alipay": _alipay,
    "wechatpay": _wechatpay,
}


def reprocess(raw: WebhookReceivedV1) -> list[OutgoingEvent] | None:
    """The payments.events records `raw` means; None when no normalizer knows its provider.
    Raises the provider's own parse error when the record cannot be read."""
    fn = REPROCESSORS.get(raw.provider)
    return None if fn is None else fn(raw)
