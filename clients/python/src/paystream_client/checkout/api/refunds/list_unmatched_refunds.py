from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.unmatched_refund_page import UnmatchedRefundPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    include_resolved: bool | Unset = False,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["include_resolved"] = include_resolved

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
        "url": "/v1/admin/refunds/unmatched",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | UnmatchedRefundPage | None:
    if response.status_code == 200:
        response_200 = UnmatchedRefundPage.from_dict(response.json())

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
) -> Response[ErrorResponse | UnmatchedRefundPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    include_resolved: bool | Unset = False,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[ErrorResponse | UnmatchedRefundPage]:
    """Refunds a provider reported that checkout could not apply, newest first (admin)

    Args:
        include_resolved (bool | Unset): Also those applied after all (resolved_at set). Default:
            False.
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | UnmatchedRefundPage]
    """

    kwargs = _get_kwargs(
        include_resolved=include_resolved,
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
    include_resolved: bool | Unset = False,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> ErrorResponse | UnmatchedRefundPage | None:
    """Refunds a provider reported that checkout could not apply, newest first (admin)

    Args:
        include_resolved (bool | Unset): Also those applied after all (resolved_at set). Default:
            False.
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | UnmatchedRefundPage
    """

    return sync_detailed(
        client=client,
        include_resolved=include_resolved,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    include_resolved: bool | Unset = False,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[ErrorResponse | UnmatchedRefundPage]:
    """Refunds a provider reported that checkout could not apply, newest first (admin)

    Args:
        include_resolved (bool | Unset): Also those applied after all (resolved_at set). Default:
            False.
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | UnmatchedRefundPage]
    """

    kwargs = _get_kwargs(
        include_resolved=include_resolved,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    include_resolved: bool | Unset = False,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> ErrorResponse | UnmatchedRefundPage | None:
    """Refunds a provider reported that checkout could not apply, newest first (admin)

    Args:
        include_resolved (bool | Unset): Also those applied after all (resolved_at set). Default:
            False.
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset): next_cursor of the previous page (opaque; at most 512
            characters, or 400)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | UnmatchedRefundPage
    """

    return (
        await asyncio_detailed(
            client=client,
            include_resolved=include_resolved,
            limit=limit,
            cursor=cursor,
        )
    ).parsed
