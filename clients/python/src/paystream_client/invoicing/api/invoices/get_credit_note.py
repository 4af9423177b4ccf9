from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.credit_note_out import CreditNoteOut
from ...models.error_response import ErrorResponse
from ...types import Response


def _get_kwargs(
    credit_note_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/credit-notes/{credit_note_id}".format(
            credit_note_id=quote(str(credit_note_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreditNoteOut | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = CreditNoteOut.from_dict(response.json())

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
) -> Response[CreditNoteOut | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    credit_note_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[CreditNoteOut | ErrorResponse]:
    """One credit note (owner or admin)

    Args:
        credit_note_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreditNoteOut | ErrorResponse]
    """

    kwargs = _get_kwargs(
        credit_note_id=credit_note_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    credit_note_id: str,
    *,
    client: AuthenticatedClient,
) -> CreditNoteOut | ErrorResponse | None:
    """One credit note (owner or admin)

    Args:
        credit_note_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreditNoteOut | ErrorResponse
    """

    return sync_detailed(
        credit_note_id=credit_note_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    credit_note_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[CreditNoteOut | ErrorResponse]:
    """One credit note (owner or admin)

    Args:
        credit_note_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreditNoteOut | ErrorResponse]
    """

    kwargs = _get_kwargs(
        credit_note_id=credit_note_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    credit_note_id: str,
    *,
    client: AuthenticatedClient,
) -> CreditNoteOut | ErrorResponse | None:
    """One credit note (owner or admin)

    Args:
        credit_note_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreditNoteOut | ErrorResponse
    """

    return (
        await asyncio_detailed(
            credit_note_id=credit_note_id,
            client=client,
        )
    ).parsed
