"""Contains all the data models used in inputs/outputs"""

from .alipay_notification_body import AlipayNotificationBody
from .error_detail import ErrorDetail
from .error_response import ErrorResponse
from .stripe_webhook_body import StripeWebhookBody
from .webhook_accepted import WebhookAccepted
from .wechatpay_webhook_body import WechatpayWebhookBody

__all__ = (
    "AlipayNotificationBody",
    "ErrorDetail",
    "ErrorResponse",
    "StripeWebhookBody",
    "WebhookAccepted",
    "WechatpayWebhookBody",
)
