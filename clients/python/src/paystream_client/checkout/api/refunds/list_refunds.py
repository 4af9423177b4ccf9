from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.refund_page import RefundPage
from ...models.refund_state import RefundState
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    order_id: None | str | Unset = UNSET,
    status: None | RefundState | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_order_id: str | Unset | None
    if isinstance(order_id, Unset):
        json_order_id = UNSET
    else:
        json_order_id = order_id
    params["order_id"] = json_order_id

    json_status: str | Unset | None
    if isinstance(status, Unset):
        json_status = UNSET
    elif isinstance(status, str):
        json_status = status
    else:
        json_status = status
    params["status"] = json_status

    params["limit"] = limit

    json_cursor: str | Unset | None
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/refunds",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | RefundPage | None:
    if response.status_code == 200:
        response_200 = RefundPage.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | RefundPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    order_id: None | str | Unset = UNSET,
    status: None | RefundState | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[ErrorResponse | RefundPage]:
    """Refunds, newest first: the caller's own, or everyone's for an admin

    Args:
        order_id (None | str | Unset):
        status (None | RefundState | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | RefundPage]
    """

    kwargs = _get_kwargs(
        order_id=order_id,
        status=status,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    order_id: None | str | Unset = UNSET,
    status: None | RefundState | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> ErrorResponse | RefundPage | None:
    """Refunds, newest first: the caller's own, or everyone's for an admin

    Args:
        order_id (None | str | Unset):
        status (None | RefundState | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | RefundPage
    """

    return sync_detailed(
        client=client,
        order_id=order_id,
        status=status,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    order_id: None | str | Unset = UNSET,
    status: None | RefundState | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[ErrorResponse | RefundPage]:
    """Refunds, newest first: the caller's own, or everyone's for an admin

    Args:
        order_id (None | str | Unset):
        status (None | RefundState | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | RefundPage]
    """

    kwargs = _get_kwargs(
        order_id=order_id,
        status=status,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    order_id: None | str | Unset = UNSET,
    status: None | RefundState | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> ErrorResponse | RefundPage | None:
    """Refunds, newest first: the caller's own, or everyone's for an admin

    Args:
        order_id (None | str | Unset):
        status (None | RefundState | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | RefundPage
    """

    return (
        await asyncio_detailed(
            client=client,
            order_id=order_id,
            status=status,
            limit=limit,
            cursor=cursor,
        )
    ).parsed
