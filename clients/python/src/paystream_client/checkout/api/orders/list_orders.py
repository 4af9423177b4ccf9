from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.order_page import OrderPage
from ...models.order_status import OrderStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    status: None | OrderStatus | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_status: str | Unset | None
    if isinstance(status, Unset):
        json_status = UNSET
    elif isinstance(status, str):
        json_status = status
    else:
        json_status = status
    params["status"] = json_status

    json_user_id: str | Unset | None
    if isinstance(user_id, Unset):
        json_user_id = UNSET
    else:
        json_user_id = user_id
    params["user_id"] = json_user_id

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
        "url": "/v1/orders",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | OrderPage | None:
    if response.status_code == 200:
        response_200 = OrderPage.from_dict(response.json())

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
) -> Response[ErrorResponse | OrderPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    status: None | OrderStatus | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[ErrorResponse | OrderPage]:
    """The caller's orders, newest first (an admin sees everyone's)

    Args:
        status (None | OrderStatus | Unset):
        user_id (None | str | Unset): Admins: only this user's orders.
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | OrderPage]
    """

    kwargs = _get_kwargs(
        status=status,
        user_id=user_id,
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
    status: None | OrderStatus | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> ErrorResponse | OrderPage | None:
    """The caller's orders, newest first (an admin sees everyone's)

    Args:
        status (None | OrderStatus | Unset):
        user_id (None | str | Unset): Admins: only this user's orders.
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | OrderPage
    """

    return sync_detailed(
        client=client,
        status=status,
        user_id=user_id,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    status: None | OrderStatus | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[ErrorResponse | OrderPage]:
    """The caller's orders, newest first (an admin sees everyone's)

    Args:
        status (None | OrderStatus | Unset):
        user_id (None | str | Unset): Admins: only this user's orders.
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | OrderPage]
    """

    kwargs = _get_kwargs(
        status=status,
        user_id=user_id,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    status: None | OrderStatus | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> ErrorResponse | OrderPage | None:
    """The caller's orders, newest first (an admin sees everyone's)

    Args:
        status (None | OrderStatus | Unset):
        user_id (None | str | Unset): Admins: only this user's orders.
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | OrderPage
    """

    return (
        await asyncio_detailed(
            client=client,
            status=status,
            user_id=user_id,
            limit=limit,
            cursor=cursor,
        )
    ).parsed
