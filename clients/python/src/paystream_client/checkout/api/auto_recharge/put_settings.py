from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.auto_recharge_in import AutoRechargeIn
from ...models.auto_recharge_out import AutoRechargeOut
from ...models.error_response import ErrorResponse
from ...types import Response


def _get_kwargs(
    *,
    body: AutoRechargeIn,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/v1/auto-recharge",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AutoRechargeOut | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = AutoRechargeOut.from_dict(response.json())

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

    if response.status_code == 413:
        response_413 = ErrorResponse.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[AutoRechargeOut | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: AutoRechargeIn,
) -> Response[AutoRechargeOut | ErrorResponse]:
    """Set (replace) the caller's auto-recharge of one unit

    Args:
        body (AutoRechargeIn): The whole setting of one unit (PUT replaces it). What to buy: a
            package, a product by
            quantity, or a product for an amount.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AutoRechargeOut | ErrorResponse]
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
    client: AuthenticatedClient,
    body: AutoRechargeIn,
) -> AutoRechargeOut | ErrorResponse | None:
    """Set (replace) the caller's auto-recharge of one unit

    Args:
        body (AutoRechargeIn): The whole setting of one unit (PUT replaces it). What to buy: a
            package, a product by
            quantity, or a product for an amount.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AutoRechargeOut | ErrorResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: AutoRechargeIn,
) -> Response[AutoRechargeOut | ErrorResponse]:
    """Set (replace) the caller's auto-recharge of one unit

    Args:
        body (AutoRechargeIn): The whole setting of one unit (PUT replaces it). What to buy: a
            package, a product by
            quantity, or a product for an amount.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AutoRechargeOut | ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: AutoRechargeIn,
) -> AutoRechargeOut | ErrorResponse | None:
    """Set (replace) the caller's auto-recharge of one unit

    Args:
        body (AutoRechargeIn): The whole setting of one unit (PUT replaces it). What to buy: a
            package, a product by
            quantity, or a product for an amount.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AutoRechargeOut | ErrorResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
