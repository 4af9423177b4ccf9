from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.order_qr_format import OrderQrFormat
from ...types import UNSET, Response, Unset


def _get_kwargs(
    order_id: str,
    *,
    format_: OrderQrFormat | Unset = "svg",
    scale: int | Unset = 8,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_format_: str | Unset = UNSET
    if not isinstance(format_, Unset):
        json_format_ = format_

    params["format"] = json_format_

    params["scale"] = scale

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/orders/{order_id}/qr".format(
            order_id=quote(str(order_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = response.json()
        return response_200

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorResponse.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    order_id: str,
    *,
    client: AuthenticatedClient,
    format_: OrderQrFormat | Unset = "svg",
    scale: int | Unset = 8,
) -> Response[Any | ErrorResponse]:
    """The order's QR code as an image (alipay_qr, wechat_pay_native, usdt_trc20)

    Args:
        order_id (str):
        format_ (OrderQrFormat | Unset): svg (default) or png Default: 'svg'.
        scale (int | Unset):  Default: 8.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorResponse]
    """

    kwargs = _get_kwargs(
        order_id=order_id,
        format_=format_,
        scale=scale,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    order_id: str,
    *,
    client: AuthenticatedClient,
    format_: OrderQrFormat | Unset = "svg",
    scale: int | Unset = 8,
) -> Any | ErrorResponse | None:
    """The order's QR code as an image (alipay_qr, wechat_pay_native, usdt_trc20)

    Args:
        order_id (str):
        format_ (OrderQrFormat | Unset): svg (default) or png Default: 'svg'.
        scale (int | Unset):  Default: 8.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorResponse
    """

    return sync_detailed(
        order_id=order_id,
        client=client,
        format_=format_,
        scale=scale,
    ).parsed


async def asyncio_detailed(
    order_id: str,
    *,
    client: AuthenticatedClient,
    format_: OrderQrFormat | Unset = "svg",
    scale: int | Unset = 8,
) -> Response[Any | ErrorResponse]:
    """The order's QR code as an image (alipay_qr, wechat_pay_native, usdt_trc20)

    Args:
        order_id (str):
        format_ (OrderQrFormat | Unset): svg (default) or png Default: 'svg'.
        scale (int | Unset):  Default: 8.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorResponse]
    """

    kwargs = _get_kwargs(
        order_id=order_id,
        format_=format_,
        scale=scale,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    order_id: str,
    *,
    client: AuthenticatedClient,
    format_: OrderQrFormat | Unset = "svg",
    scale: int | Unset = 8,
) -> Any | ErrorResponse | None:
    """The order's QR code as an image (alipay_qr, wechat_pay_native, usdt_trc20)

    Args:
        order_id (str):
        format_ (OrderQrFormat | Unset): svg (default) or png Default: 'svg'.
        scale (int | Unset):  Default: 8.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorResponse
    """

    return (
        await asyncio_detailed(
            order_id=order_id,
            client=client,
            format_=format_,
            scale=scale,
        )
    ).parsed
