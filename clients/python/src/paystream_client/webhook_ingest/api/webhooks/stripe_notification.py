from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.stripe_notification_body import StripeNotificationBody
from ...models.webhook_accepted import WebhookAccepted
from ...types import Response


def _get_kwargs(
    *,
    body: StripeNotificationBody,
    stripe_signature: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Stripe-Signature"] = stripe_signature

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/webhooks/stripe",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | WebhookAccepted | None:
    if response.status_code == 200:
        response_200 = WebhookAccepted.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if response.status_code == 413:
        response_413 = ErrorResponse.from_dict(response.json())

        return response_413

    if response.status_code == 500:
        response_500 = ErrorResponse.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = ErrorResponse.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | WebhookAccepted]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: StripeNotificationBody,
    stripe_signature: str,
) -> Response[ErrorResponse | WebhookAccepted]:
    """Receive a Stripe webhook

     Verifies `Stripe-Signature` over the raw body, publishes the verified event to `webhooks.raw` and
    its normalized payment event (if any) to `payments.events`, and answers 200 only after Kafka
    acknowledged both (acks=all).

    Args:
        stripe_signature (str):
        body (StripeNotificationBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | WebhookAccepted]
    """

    kwargs = _get_kwargs(
        body=body,
        stripe_signature=stripe_signature,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: StripeNotificationBody,
    stripe_signature: str,
) -> ErrorResponse | WebhookAccepted | None:
    """Receive a Stripe webhook

     Verifies `Stripe-Signature` over the raw body, publishes the verified event to `webhooks.raw` and
    its normalized payment event (if any) to `payments.events`, and answers 200 only after Kafka
    acknowledged both (acks=all).

    Args:
        stripe_signature (str):
        body (StripeNotificationBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | WebhookAccepted
    """

    return sync_detailed(
        client=client,
        body=body,
        stripe_signature=stripe_signature,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: StripeNotificationBody,
    stripe_signature: str,
) -> Response[ErrorResponse | WebhookAccepted]:
    """Receive a Stripe webhook

     Verifies `Stripe-Signature` over the raw body, publishes the verified event to `webhooks.raw` and
    its normalized payment event (if any) to `payments.events`, and answers 200 only after Kafka
    acknowledged both (acks=all).

    Args:
        stripe_signature (str):
        body (StripeNotificationBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | WebhookAccepted]
    """

    kwargs = _get_kwargs(
        body=body,
        stripe_signature=stripe_signature,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: StripeNotificationBody,
    stripe_signature: str,
) -> ErrorResponse | WebhookAccepted | None:
    """Receive a Stripe webhook

     Verifies `Stripe-Signature` over the raw body, publishes the verified event to `webhooks.raw` and
    its normalized payment event (if any) to `payments.events`, and answers 200 only after Kafka
    acknowledged both (acks=all).

    Args:
        stripe_signature (str):
        body (StripeNotificationBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | WebhookAccepted
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            stripe_signature=stripe_signature,
        )
    ).parsed
