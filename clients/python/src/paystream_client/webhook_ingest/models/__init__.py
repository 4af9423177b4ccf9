"""Contains all the data models used in inputs/outputs"""

from .alipay_notification_body import AlipayNotificationBody
from .error_detail import ErrorDetail
from .error_response import ErrorResponse
from .stripe_notification_body import StripeNotificationBody
from .webhook_accepted import WebhookAccepted
from .wechatpay_notification_body import WechatpayNotificationBody

__all__ = (
    "AlipayNotificationBody",
    "ErrorDetail",
    "ErrorResponse",
    "StripeNotificationBody",
    "WebhookAccepted",
    "WechatpayNotificationBody",
)
