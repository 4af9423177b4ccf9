from typing import Literal

CreateOrderInPaymentMethod = Literal[
    "alipay_page",
    "alipay_qr",
    "stripe_checkout",
    "stripe_payment_intent",
    "usdt_trc20",
    "wechat_pay_native",
]

CREATE_ORDER_IN_PAYMENT_METHOD_VALUES: set[CreateOrderInPaymentMethod] = {
    "alipay_page",
    "alipay_qr",
    "stripe_checkout",
    "stripe_payment_intent",
    "usdt_trc20",
    "wechat_pay_native",
}


def check_create_order_in_payment_method(value: str) -> CreateOrderInPaymentMethod:
    if value in CREATE_ORDER_IN_PAYMENT_METHOD_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CREATE_ORDER_IN_PAYMENT_METHOD_VALUES!r}"
    )
