from typing import Literal

ChangeInPaymentMethodType0 = Literal[
    "alipay_page",
    "alipay_qr",
    "stripe_checkout",
    "stripe_payment_intent",
    "usdt_trc20",
    "wechat_pay_native",
]

CHANGE_IN_PAYMENT_METHOD_TYPE_0_VALUES: set[ChangeInPaymentMethodType0] = {
    "alipay_page",
    "alipay_qr",
    "stripe_checkout",
    "stripe_payment_intent",
    "usdt_trc20",
    "wechat_pay_native",
}


def check_change_in_payment_method_type_0(value: str) -> ChangeInPaymentMethodType0:
    if value in CHANGE_IN_PAYMENT_METHOD_TYPE_0_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CHANGE_IN_PAYMENT_METHOD_TYPE_0_VALUES!r}"
    )
