"""StripeProvider against the real stripe-mock, and against a local Stripe stand-in for the
answers stripe-mock cannot give.

stripe-mock validates every request against Stripe's OpenAPI specification and answers with
fixtures: it proves our parameters have the shape Stripe takes (a wrong one is refused) and that
we read Stripe's answers, but it remembers nothing. It cannot prove that a PaymentIntent is later
payable with the method types we allowed, that a refund lowers what is refundable, or that an
expired session refuses to expire again; the last is played here by a small server speaking
Stripe's error format.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from paystream.checkout.providers import (
    PaymentRequest,
    ProviderError,
    RefundRequest,
    RefundStatus,
)
from paystream.checkout.providers.stripe import (
    PAYMENT_INTENT_METHODS,
    StripeProvider,
    confirm_params,
    payment_intent_params,
    refund_params,
    refund_target,
)
from paystream.devtools.fakes import serving
from paystream.shared.money import Money

pytestmark = pytest.mark.integration

API_KEY = "sk_test_123"


@pytest.fixture(scope="session")
def stripe_api_base() -> str:
    base = os.environ.get("PAYSTREAM_STRIPE_API_BASE")
    if not base:
        pytest.fail(
            'PAYSTREAM_STRIPE_API_BASE is not set: run `eval "$(deploy/local/infra.sh env)"`'
        )
    return base


def _provider(api_base: str, retries: int = 0) -> StripeProvider:
    return StripeProvider(
        api_key=API_KEY, api_base=api_base, timeout_s=5, max_network_retries=retries
    )


@pytest.fixture
async def provider(stripe_api_base: str) -> AsyncIterator[StripeProvider]:
    p = _provider(stripe_api_base, retries=1)
    try:
        yield p
    finally:
        await p.aclose()


@pytest.fixture
async def sdk(stripe_api_base: str) -> AsyncIterator[stripe.StripeClient]:
    """The Stripe SDK itself, to look at what stripe-mock answers to our parameters."""
    http = stripe.HTTPXClient(timeout=5)
    try:
        yield stripe.StripeClient(
            API_KEY, base_addresses={"api": stripe_api_base}, http_client=http
        )
    finally:
        await http.close_async()  # type: ignore[no-untyped-call]


def _order(method: str, amount: Money) -> PaymentRequest:
    return PaymentRequest(
        order_id="3f1f0c55-8f73-4d61-9d43-0f2b7b0a9e10",
        user_id="user-it",
        package_id="standard",
        package_name="Standard",
        credits=1100,
        amount=amount,
        payment_method=method,
        return_url="https://shop.example/return",
        expires_at=datetime.now(UTC) + timedelta(minutes=31),
    )


def _refund(amount: Money, **over: Any) -> RefundRequest:
    base: dict[str, Any] = {
        "refund_id": "6c0f3b8e-2f0d-4c4e-9d2b-5b1c9b7e0a01",
        "order_id": "3f1f0c55-8f73-4d61-9d43-0f2b7b0a9e10",
        "user_id": "user-it",
        "amount": amount,
        "payment_amount": Money(10000, amount.currency),
        "payment_method": "stripe_payment_intent",
        "provider_payment_id": "pi_3SGyWzB7WZ01zgkW0x",
        "provider_session_id": "pi_3SGyWzB7WZ01zgkW0x",
        "reason": "requested_by_customer",
    }
    base.update(over)
    return RefundRequest(**base)


# --- creating payments ----------------------------------------------------------------------


async def test_checkout_session_gives_a_payment_url(provider: StripeProvider) -> None:
    got = await provider.create_payment(_order("stripe_checkout", Money(10000, "CNY")))
    assert got.session_id.startswith("cs_")
    assert got.payment_url is not None
    assert got.payment_url.startswith("https://")
    assert got.client_secret is None
    assert got.payment_method_types == ()


@pytest.mark.parametrize("currency", sorted(PAYMENT_INTENT_METHODS))
async def test_payment_intent_per_currency_gives_a_client_secret(
    provider: StripeProvider, currency: str
) -> None:
    got = await provider.create_payment(_order("stripe_payment_intent", Money(2500, currency)))
    assert got.session_id.startswith("pi_")
    assert got.client_secret is not None
    assert "_secret_" in got.client_secret
    assert got.payment_url is None
    # stripe-mock answers payment_method_types from its fixture (["card"]); real Stripe answers
    # the subset of what we allowed that suits the currency and amount.
    assert got.payment_method_types
    assert set(got.payment_method_types) <= set(PAYMENT_INTENT_METHODS[currency])


@pytest.mark.parametrize("currency", sorted(PAYMENT_INTENT_METHODS))
async def test_stripe_takes_our_payment_intent_parameters(
    sdk: stripe.StripeClient, currency: str
) -> None:
    params = payment_intent_params(_order("stripe_payment_intent", Money(2500, currency)))
    intent = await sdk.v1.payment_intents.create_async(params=params)
    # stripe-mock reflects the request's scalar fields and lists into its fixture.
    assert (intent.amount, intent.currency) == (2500, currency.lower())
    assert intent.allowed_payment_method_types == list(PAYMENT_INTENT_METHODS[currency])


async def test_an_unknown_payment_method_type_is_refused(sdk: stripe.StripeClient) -> None:
    params = payment_intent_params(_order("stripe_payment_intent", Money(2500, "MYR")))
    params["allowed_payment_method_types"] = ["card", "grab_pay"]
    with pytest.raises(stripe.InvalidRequestError, match="allowed_payment_method_types"):
        await sdk.v1.payment_intents.create_async(params=params)


async def test_a_payment_intent_in_a_currency_without_methods_asks_nothing(
    provider: StripeProvider,
) -> None:
    with pytest.raises(ProviderError, match="JPY"):
        await provider.create_payment(_order("stripe_payment_intent", Money(980, "JPY")))


async def test_unreachable_stripe_is_a_provider_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = _provider(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(ProviderError, match="APIConnectionError"):
            await p.create_payment(_order("stripe_payment_intent", Money(2500, "USD")))
    finally:
        await p.aclose()


# --- confirming -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method", sorted({m for methods in PAYMENT_INTENT_METHODS.values() for m in methods})
)
async def test_confirm_params_are_accepted_for_every_method(
    provider: StripeProvider, method: str
) -> None:
    status = await provider.confirm("pi_3SGyWzB7WZ01zgkW0x", method, "https://shop.example/r")
    assert status  # stripe-mock answers its fixture's status; the point is the 200


async def test_a_wechat_pay_client_stripe_does_not_know_is_refused(
    sdk: stripe.StripeClient,
) -> None:
    params = confirm_params("wechat_pay", "https://shop.example/r")
    params["payment_method_options"] = {"wechat_pay": {"client": "desktop"}}
    with pytest.raises(stripe.InvalidRequestError, match="wechat_pay"):
        await sdk.v1.payment_intents.confirm_async("pi_x", params=params)


async def test_an_unknown_payment_method_data_type_is_refused(sdk: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="payment_method_data"):
        await sdk.v1.payment_intents.confirm_async(
            "pi_x",
            params={"payment_method_data": {"type": "alipay_qr"}},
        )


# --- refunds --------------------------------------------------------------------------------


async def test_full_refund(provider: StripeProvider) -> None:
    got = await provider.refund(_refund(Money(10000, "CNY")))
    assert got.status is RefundStatus.SUCCEEDED
    assert got.provider_refund_id.startswith("re_")


async def test_partial_refund_against_a_charge(provider: StripeProvider) -> None:
    got = await provider.refund(
        _refund(Money(2500, "USD"), provider_payment_id="ch_3SGyWzB7WZ01zgkW0y")
    )
    assert got.status is RefundStatus.SUCCEEDED
    assert got.provider_refund_id.startswith("re_")


async def test_refund_params_reach_stripe_as_we_built_them(sdk: stripe.StripeClient) -> None:
    req = _refund(Money(2500, "CNY"))
    target = refund_target(req)
    assert target is not None
    refund = await sdk.v1.refunds.create_async(params=refund_params(req, target))
    assert (refund.amount, refund.payment_intent) == (2500, "pi_3SGyWzB7WZ01zgkW0x")


async def test_refund_of_a_checkout_order_known_by_its_session_only(
    provider: StripeProvider,
) -> None:
    # The session is looked up for its PaymentIntent first (stripe-mock's fixture has one).
    got = await provider.refund(
        _refund(
            Money(10000, "CNY"),
            payment_method="stripe_checkout",
            provider_payment_id=None,
            provider_session_id="cs_test_a1b2c3",
        )
    )
    assert got.status is RefundStatus.SUCCEEDED


async def test_refund_without_any_stripe_reference_is_refused(provider: StripeProvider) -> None:
    with pytest.raises(ProviderError, match="names no Stripe payment"):
        await provider.refund(
            _refund(Money(100, "CNY"), provider_payment_id=None, provider_session_id=None)
        )


# --- closing --------------------------------------------------------------------------------


async def test_close_expires_a_checkout_session(provider: StripeProvider) -> None:
    await provider.close("cs_test_a1b2c3", "stripe_checkout")


async def test_close_cancels_a_payment_intent(provider: StripeProvider) -> None:
    await provider.close("pi_3SGyWzB7WZ01zgkW0x", "stripe_payment_intent")


def _stripe_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": "invalid_request_error", "code": code, "message": message}},
        status_code=status,
    )


def _fake_stripe(states: dict[str, str], calls: list[str]) -> Starlette:
    """Stripe's answers to expiring a session / cancelling a PaymentIntent that is not open:
    `states` maps an id to its status; an id named `..._down` answers 500."""

    async def expire(request: Request) -> JSONResponse:
        sid = request.path_params["id"]
        calls.append(f"expire {sid}")
        if sid.endswith("_down"):
            return JSONResponse({"error": {"type": "api_error", "message": "down"}}, 500)
        if states[sid] == "open":
            return JSONResponse({"id": sid, "object": "checkout.session", "status": "expired"})
        return _stripe_error(
            400, "checkout_session_unexpected_state", "Only open Checkout Sessions can expire."
        )

    async def session(request: Request) -> JSONResponse:
        sid = request.path_params["id"]
        calls.append(f"get {sid}")
        return JSONResponse({"id": sid, "object": "checkout.session", "status": states[sid]})

    async def cancel(request: Request) -> JSONResponse:
        pid = request.path_params["id"]
        calls.append(f"cancel {pid}")
        if states[pid] in ("succeeded", "canceled", "processing"):
            return _stripe_error(
                400,
                "payment_intent_unexpected_state",
                f"You cannot cancel this PaymentIntent because it has a status of {states[pid]}.",
            )
        return JSONResponse({"id": pid, "object": "payment_intent", "status": "canceled"})

    async def intent(request: Request) -> JSONResponse:
        pid = request.path_params["id"]
        calls.append(f"get {pid}")
        return JSONResponse({"id": pid, "object": "payment_intent", "status": states[pid]})

    return Starlette(
        routes=[
            Route("/v1/checkout/sessions/{id}/expire", expire, methods=["POST"]),
            Route("/v1/checkout/sessions/{id}", session, methods=["GET"]),
            Route("/v1/payment_intents/{id}/cancel", cancel, methods=["POST"]),
            Route("/v1/payment_intents/{id}", intent, methods=["GET"]),
        ]
    )


async def test_closing_what_is_already_closed_or_paid_is_not_an_error() -> None:
    states = {
        "cs_expired": "expired",
        "cs_complete": "complete",
        "pi_canceled": "canceled",
        "pi_succeeded": "succeeded",
    }
    calls: list[str] = []
    async with serving(_fake_stripe(states, calls)) as base:
        p = _provider(base)
        try:
            await p.close("cs_expired", "stripe_checkout")
            await p.close("cs_complete", "stripe_checkout")
            await p.close("pi_canceled", "stripe_payment_intent")
            await p.close("pi_succeeded", "stripe_payment_intent")
        finally:
            await p.aclose()
    assert calls == [
        "expire cs_expired",
        "get cs_expired",
        "expire cs_complete",
        "get cs_complete",
        "cancel pi_canceled",
        "get pi_canceled",
        "cancel pi_succeeded",
        "get pi_succeeded",
    ]


async def test_closing_fails_when_stripe_refuses_for_another_reason() -> None:
    # A processing PaymentIntent cannot be cancelled and is not paid yet: the caller must know.
    states = {"pi_processing": "processing", "cs_open_down": "open"}
    calls: list[str] = []
    async with serving(_fake_stripe(states, calls)) as base:
        p = _provider(base)
        try:
            with pytest.raises(ProviderError, match="payment_intent_unexpected_state"):
                await p.close("pi_processing", "stripe_payment_intent")
            with pytest.raises(ProviderError, match="APIError"):
                await p.close("cs_open_down", "stripe_checkout")
        finally:
            await p.aclose()
    assert calls == ["cancel pi_processing", "get pi_processing", "expire cs_open_down"]
