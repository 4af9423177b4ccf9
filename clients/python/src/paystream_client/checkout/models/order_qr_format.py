from typing import Literal

OrderQrFormat = Literal["png", "svg"]

ORDER_QR_FORMAT_VALUES: set[OrderQrFormat] = {
    "png",
    "svg",
}


def check_order_qr_format(value: str) -> OrderQrFormat:
    if value in ORDER_QR_FORMAT_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {ORDER_QR_FORMAT_VALUES!r}")
