from typing import Literal

RenewInPaymentMethodType0 = Literal[
    "alipay_page",
    "alipay_qr",
    "stripe_checkout",
    "stripe_payment_intent",
    "usdt_trc20",
    "wechat_pay_native",
]

RENEW_IN_PAYMENT_METHOD_TYPE_0_VALUES: set[RenewInPaymentMethodType0] = {
    "alipay_page",
    "alipay_qr",
    "stripe_checkout",
    "stripe_payment_intent",
    "usdt_trc20",
    "wechat_pay_native",
}


def check_renew_in_payment_method_type_0(value: str) -> RenewInPaymentMethodType0:
    if value in RENEW_IN_PAYMENT_METHOD_TYPE_0_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {RENEW_IN_PAYMENT_METHOD_TYPE_0_VALUES!r}"
    )
