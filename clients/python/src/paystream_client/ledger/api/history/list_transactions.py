import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.list_transactions_type_type_0_item import (
    ListTransactionsTypeType0Item,
)
from ...models.transaction_page import TransactionPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    type_: list[ListTransactionsTypeType0Item] | None | Unset = UNSET,
    unit: None | str | Unset = UNSET,
    from_: datetime.datetime | None | Unset = UNSET,
    to: datetime.datetime | None | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    json_cursor: str | Unset | None
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    json_user_id: str | Unset | None
    if isinstance(user_id, Unset):
        json_user_id = UNSET
    else:
        json_user_id = user_id
    params["user_id"] = json_user_id

    json_type_: list[str] | Unset | None
    if isinstance(type_, Unset):
        json_type_ = UNSET
    elif isinstance(type_, list):
        json_type_ = []
        for type_type_0_item_data in type_:
            type_type_0_item: str = type_type_0_item_data
            json_type_.append(type_type_0_item)

    else:
        json_type_ = type_
    params["type"] = json_type_

    json_unit: str | Unset | None
    if isinstance(unit, Unset):
        json_unit = UNSET
    else:
        json_unit = unit
    params["unit"] = json_unit

    json_from_: str | Unset | None
    if isinstance(from_, Unset):
        json_from_ = UNSET
    elif isinstance(from_, datetime.datetime):
        json_from_ = from_.isoformat()
    else:
        json_from_ = from_
    params["from"] = json_from_

    json_to: str | Unset | None
    if isinstance(to, Unset):
        json_to = UNSET
    elif isinstance(to, datetime.datetime):
        json_to = to.isoformat()
    else:
        json_to = to
    params["to"] = json_to

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/transactions",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | TransactionPage | None:
    if response.status_code == 200:
        response_200 = TransactionPage.from_dict(response.json())

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
) -> Response[ErrorResponse | TransactionPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    type_: list[ListTransactionsTypeType0Item] | None | Unset = UNSET,
    unit: None | str | Unset = UNSET,
    from_: datetime.datetime | None | Unset = UNSET,
    to: datetime.datetime | None | Unset = UNSET,
) -> Response[ErrorResponse | TransactionPage]:
    """List Transactions

    Args:
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)
        user_id (None | str | Unset): admin only: whose history
        type_ (list[ListTransactionsTypeType0Item] | None | Unset): only these kinds (repeat the
            parameter)
        unit (None | str | Unset):
        from_ (datetime.datetime | None | Unset): from this time on
        to (datetime.datetime | None | Unset): before this time

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | TransactionPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        user_id=user_id,
        type_=type_,
        unit=unit,
        from_=from_,
        to=to,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    type_: list[ListTransactionsTypeType0Item] | None | Unset = UNSET,
    unit: None | str | Unset = UNSET,
    from_: datetime.datetime | None | Unset = UNSET,
    to: datetime.datetime | None | Unset = UNSET,
) -> ErrorResponse | TransactionPage | None:
    """List Transactions

    Args:
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)
        user_id (None | str | Unset): admin only: whose history
        type_ (list[ListTransactionsTypeType0Item] | None | Unset): only these kinds (repeat the
            parameter)
        unit (None | str | Unset):
        from_ (datetime.datetime | None | Unset): from this time on
        to (datetime.datetime | None | Unset): before this time

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | TransactionPage
    """

    return sync_detailed(
        client=client,
        limit=limit,
        cursor=cursor,
        user_id=user_id,
        type_=type_,
        unit=unit,
        from_=from_,
        to=to,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    type_: list[ListTransactionsTypeType0Item] | None | Unset = UNSET,
    unit: None | str | Unset = UNSET,
    from_: datetime.datetime | None | Unset = UNSET,
    to: datetime.datetime | None | Unset = UNSET,
) -> Response[ErrorResponse | TransactionPage]:
    """List Transactions

    Args:
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)
        user_id (None | str | Unset): admin only: whose history
        type_ (list[ListTransactionsTypeType0Item] | None | Unset): only these kinds (repeat the
            parameter)
        unit (None | str | Unset):
        from_ (datetime.datetime | None | Unset): from this time on
        to (datetime.datetime | None | Unset): before this time

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | TransactionPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        user_id=user_id,
        type_=type_,
        unit=unit,
        from_=from_,
        to=to,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    type_: list[ListTransactionsTypeType0Item] | None | Unset = UNSET,
    unit: None | str | Unset = UNSET,
    from_: datetime.datetime | None | Unset = UNSET,
    to: datetime.datetime | None | Unset = UNSET,
) -> ErrorResponse | TransactionPage | None:
    """List Transactions

    Args:
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)
        user_id (None | str | Unset): admin only: whose history
        type_ (list[ListTransactionsTypeType0Item] | None | Unset): only these kinds (repeat the
            parameter)
        unit (None | str | Unset):
        from_ (datetime.datetime | None | Unset): from this time on
        to (datetime.datetime | None | Unset): before this time

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | TransactionPage
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            cursor=cursor,
            user_id=user_id,
            type_=type_,
            unit=unit,
            from_=from_,
            to=to,
        )
    ).parsed
