from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.refund_out import RefundOut
from ...types import Response


def _get_kwargs(
    refund_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/refunds/{refund_id}".format(
            refund_id=quote(str(refund_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | RefundOut | None:
    if response.status_code == 200:
        response_200 = RefundOut.from_dict(response.json())

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
) -> Response[ErrorResponse | RefundOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    refund_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorResponse | RefundOut]:
    """One refund (the order's owner or an admin)

    Args:
        refund_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | RefundOut]
    """

    kwargs = _get_kwargs(
        refund_id=refund_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    refund_id: str,
    *,
    client: AuthenticatedClient,
) -> ErrorResponse | RefundOut | None:
    """One refund (the order's owner or an admin)

    Args:
        refund_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | RefundOut
    """

    return sync_detailed(
        refund_id=refund_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    refund_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorResponse | RefundOut]:
    """One refund (the order's owner or an admin)

    Args:
        refund_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | RefundOut]
    """

    kwargs = _get_kwargs(
        refund_id=refund_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    refund_id: str,
    *,
    client: AuthenticatedClient,
) -> ErrorResponse | RefundOut | None:
    """One refund (the order's owner or an admin)

    Args:
        refund_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | RefundOut
    """

    return (
        await asyncio_detailed(
            refund_id=refund_id,
            client=client,
        )
    ).parsed
