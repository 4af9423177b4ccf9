from typing import Literal

SubscribeInPaymentMethod = Literal[
    "alipay_page",
    "alipay_qr",
    "stripe_checkout",
    "stripe_payment_intent",
    "usdt_trc20",
    "wechat_pay_native",
]

SUBSCRIBE_IN_PAYMENT_METHOD_VALUES: set[SubscribeInPaymentMethod] = {
    "alipay_page",
    "alipay_qr",
    "stripe_checkout",
    "stripe_payment_intent",
    "usdt_trc20",
    "wechat_pay_native",
}


def check_subscribe_in_payment_method(value: str) -> SubscribeInPaymentMethod:
    if value in SUBSCRIBE_IN_PAYMENT_METHOD_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SUBSCRIBE_IN_PAYMENT_METHOD_VALUES!r}"
    )
