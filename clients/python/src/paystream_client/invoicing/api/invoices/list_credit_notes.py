from http import HTTPStatus
from typing import Any
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.credit_note_list import CreditNoteList
from ...models.error_response import ErrorResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    invoice_id: None | Unset | UUID = UNSET,
    user_id: None | str | Unset = UNSET,
    order_id: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    json_cursor: str | Unset | None
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    json_invoice_id: str | Unset | None
    if isinstance(invoice_id, Unset):
        json_invoice_id = UNSET
    elif isinstance(invoice_id, UUID):
        json_invoice_id = str(invoice_id)
    else:
        json_invoice_id = invoice_id
    params["invoice_id"] = json_invoice_id

    json_user_id: str | Unset | None
    if isinstance(user_id, Unset):
        json_user_id = UNSET
    else:
        json_user_id = user_id
    params["user_id"] = json_user_id

    json_order_id: str | Unset | None
    if isinstance(order_id, Unset):
        json_order_id = UNSET
    else:
        json_order_id = order_id
    params["order_id"] = json_order_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/credit-notes",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreditNoteList | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = CreditNoteList.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorResponse.from_dict(response.json())

        return response_403

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CreditNoteList | ErrorResponse]:
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
    invoice_id: None | Unset | UUID = UNSET,
    user_id: None | str | Unset = UNSET,
    order_id: None | str | Unset = UNSET,
) -> Response[CreditNoteList | ErrorResponse]:
    """List credit notes, newest first

    Args:
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)
        invoice_id (None | Unset | UUID): only the credit notes of this invoice
        user_id (None | str | Unset): admins: only this user's credit notes
        order_id (None | str | Unset): only the credit notes of this order

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreditNoteList | ErrorResponse]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        invoice_id=invoice_id,
        user_id=user_id,
        order_id=order_id,
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
    invoice_id: None | Unset | UUID = UNSET,
    user_id: None | str | Unset = UNSET,
    order_id: None | str | Unset = UNSET,
) -> CreditNoteList | ErrorResponse | None:
    """List credit notes, newest first

    Args:
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)
        invoice_id (None | Unset | UUID): only the credit notes of this invoice
        user_id (None | str | Unset): admins: only this user's credit notes
        order_id (None | str | Unset): only the credit notes of this order

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreditNoteList | ErrorResponse
    """

    return sync_detailed(
        client=client,
        limit=limit,
        cursor=cursor,
        invoice_id=invoice_id,
        user_id=user_id,
        order_id=order_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    invoice_id: None | Unset | UUID = UNSET,
    user_id: None | str | Unset = UNSET,
    order_id: None | str | Unset = UNSET,
) -> Response[CreditNoteList | ErrorResponse]:
    """List credit notes, newest first

    Args:
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)
        invoice_id (None | Unset | UUID): only the credit notes of this invoice
        user_id (None | str | Unset): admins: only this user's credit notes
        order_id (None | str | Unset): only the credit notes of this order

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreditNoteList | ErrorResponse]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        invoice_id=invoice_id,
        user_id=user_id,
        order_id=order_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    invoice_id: None | Unset | UUID = UNSET,
    user_id: None | str | Unset = UNSET,
    order_id: None | str | Unset = UNSET,
) -> CreditNoteList | ErrorResponse | None:
    """List credit notes, newest first

    Args:
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)
        invoice_id (None | Unset | UUID): only the credit notes of this invoice
        user_id (None | str | Unset): admins: only this user's credit notes
        order_id (None | str | Unset): only the credit notes of this order

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreditNoteList | ErrorResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            cursor=cursor,
            invoice_id=invoice_id,
            user_id=user_id,
            order_id=order_id,
        )
    ).parsed
