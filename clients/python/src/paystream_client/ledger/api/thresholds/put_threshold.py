from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.threshold_in import ThresholdIn
from ...models.threshold_out import ThresholdOut
from ...types import UNSET, Response, Unset


def _get_kwargs(
    unit: str,
    *,
    body: ThresholdIn,
    user_id: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    json_user_id: str | Unset | None
    if isinstance(user_id, Unset):
        json_user_id = UNSET
    else:
        json_user_id = user_id
    params["user_id"] = json_user_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/v1/balance-thresholds/{unit}".format(
            unit=quote(str(unit), safe=""),
        ),
        "params": params,
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | ThresholdOut | None:
    if response.status_code == 200:
        response_200 = ThresholdOut.from_dict(response.json())

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
) -> Response[ErrorResponse | ThresholdOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    unit: str,
    *,
    client: AuthenticatedClient,
    body: ThresholdIn,
    user_id: None | str | Unset = UNSET,
) -> Response[ErrorResponse | ThresholdOut]:
    """Put Threshold

    Args:
        unit (str):
        user_id (None | str | Unset): admin only: whose threshold
        body (ThresholdIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | ThresholdOut]
    """

    kwargs = _get_kwargs(
        unit=unit,
        body=body,
        user_id=user_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    unit: str,
    *,
    client: AuthenticatedClient,
    body: ThresholdIn,
    user_id: None | str | Unset = UNSET,
) -> ErrorResponse | ThresholdOut | None:
    """Put Threshold

    Args:
        unit (str):
        user_id (None | str | Unset): admin only: whose threshold
        body (ThresholdIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | ThresholdOut
    """

    return sync_detailed(
        unit=unit,
        client=client,
        body=body,
        user_id=user_id,
    ).parsed


async def asyncio_detailed(
    unit: str,
    *,
    client: AuthenticatedClient,
    body: ThresholdIn,
    user_id: None | str | Unset = UNSET,
) -> Response[ErrorResponse | ThresholdOut]:
    """Put Threshold

    Args:
        unit (str):
        user_id (None | str | Unset): admin only: whose threshold
        body (ThresholdIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | ThresholdOut]
    """

    kwargs = _get_kwargs(
        unit=unit,
        body=body,
        user_id=user_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    unit: str,
    *,
    client: AuthenticatedClient,
    body: ThresholdIn,
    user_id: None | str | Unset = UNSET,
) -> ErrorResponse | ThresholdOut | None:
    """Put Threshold

    Args:
        unit (str):
        user_id (None | str | Unset): admin only: whose threshold
        body (ThresholdIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | ThresholdOut
    """

    return (
        await asyncio_detailed(
            unit=unit,
            client=client,
            body=body,
            user_id=user_id,
        )
    ).parsed
