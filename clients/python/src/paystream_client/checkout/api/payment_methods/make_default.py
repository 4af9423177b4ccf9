from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.saved_method_out import SavedMethodOut
from ...types import Response


def _get_kwargs(
    method_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/payment-methods/saved/{method_id}/default".format(
            method_id=quote(str(method_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | SavedMethodOut | None:
    if response.status_code == 200:
        response_200 = SavedMethodOut.from_dict(response.json())

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

    if response.status_code == 502:
        response_502 = ErrorResponse.from_dict(response.json())

        return response_502

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | SavedMethodOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    method_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorResponse | SavedMethodOut]:
    """Make a saved method the default (Stripe's customer default too)

    Args:
        method_id (str): Stripe's pm_...

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | SavedMethodOut]
    """

    kwargs = _get_kwargs(
        method_id=method_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    method_id: str,
    *,
    client: AuthenticatedClient,
) -> ErrorResponse | SavedMethodOut | None:
    """Make a saved method the default (Stripe's customer default too)

    Args:
        method_id (str): Stripe's pm_...

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | SavedMethodOut
    """

    return sync_detailed(
        method_id=method_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    method_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorResponse | SavedMethodOut]:
    """Make a saved method the default (Stripe's customer default too)

    Args:
        method_id (str): Stripe's pm_...

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | SavedMethodOut]
    """

    kwargs = _get_kwargs(
        method_id=method_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    method_id: str,
    *,
    client: AuthenticatedClient,
) -> ErrorResponse | SavedMethodOut | None:
    """Make a saved method the default (Stripe's customer default too)

    Args:
        method_id (str): Stripe's pm_...

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | SavedMethodOut
    """

    return (
        await asyncio_detailed(
            method_id=method_id,
            client=client,
        )
    ).parsed
