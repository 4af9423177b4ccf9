from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.wechatpay_notification_body import WechatpayNotificationBody
from ...types import Response


def _get_kwargs(
    *,
    body: WechatpayNotificationBody,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/webhooks/wechatpay",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
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

    if response.status_code == 413:
        response_413 = ErrorResponse.from_dict(response.json())

        return response_413

    if response.status_code == 503:
        response_503 = ErrorResponse.from_dict(response.json())

        return response_503

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
    *,
    client: AuthenticatedClient | Client,
    body: WechatpayNotificationBody,
) -> Response[Any | ErrorResponse]:
    """Receive a WeChat Pay API v3 notification

     Verifies the Wechatpay-* signature (platform public key, 5 minute window), decrypts the AES-256-GCM
    resource, publishes the verified notification to `webhooks.raw` and its payment / refund event to
    `payments.events`, and answers 200 `{"code": "SUCCESS"}` only after Kafka acknowledged (acks=all).

    Args:
        body (WechatpayNotificationBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: WechatpayNotificationBody,
) -> Any | ErrorResponse | None:
    """Receive a WeChat Pay API v3 notification

     Verifies the Wechatpay-* signature (platform public key, 5 minute window), decrypts the AES-256-GCM
    resource, publishes the verified notification to `webhooks.raw` and its payment / refund event to
    `payments.events`, and answers 200 `{"code": "SUCCESS"}` only after Kafka acknowledged (acks=all).

    Args:
        body (WechatpayNotificationBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: WechatpayNotificationBody,
) -> Response[Any | ErrorResponse]:
    """Receive a WeChat Pay API v3 notification

     Verifies the Wechatpay-* signature (platform public key, 5 minute window), decrypts the AES-256-GCM
    resource, publishes the verified notification to `webhooks.raw` and its payment / refund event to
    `payments.events`, and answers 200 `{"code": "SUCCESS"}` only after Kafka acknowledged (acks=all).

    Args:
        body (WechatpayNotificationBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: WechatpayNotificationBody,
) -> Any | ErrorResponse | None:
    """Receive a WeChat Pay API v3 notification

     Verifies the Wechatpay-* signature (platform public key, 5 minute window), decrypts the AES-256-GCM
    resource, publishes the verified notification to `webhooks.raw` and its payment / refund event to
    `payments.events`, and answers 200 `{"code": "SUCCESS"}` only after Kafka acknowledged (acks=all).

    Args:
        body (WechatpayNotificationBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
