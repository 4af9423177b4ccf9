"""The fake Stripe (`paystream.devtools.fakes.stripe`) as stripe-python sees it: the real SDK,
pointed at the fake over HTTP, with stripe-mock checking every request first (`make test`
runs stripe-mock). Customers, saved cards, SetupIntents and off-session PaymentIntents with
each of Stripe's test cards, 3-D Secure as the buyer, signed webhooks with retries, and
idempotency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paystream.devtools.fakes import serving
from paystream.devtools.fakes.stripe import RunningStripe

pytestmark = pytest.mark.integration

API_KEY = "sk_test_123"
SECRET = "whsec_fake_stripe_test"


@pytest.fixture
async def sdk(fake_stripe: RunningStripe) -> AsyncIterator[stripe.StripeClient]:
    http = stripe.HTTPXClient(timeout=10)
    try:
        yield stripe.StripeClient(
            API_KEY,
            base_addresses={"api": fake_stripe.url},
            http_client=http,
            max_network_retries=0,
        )
    finally:
        await http.close_async()  # type: ignore[no-untyped-call]


async def _customer(sdk: stripe.StripeClient) -> stripe.Customer:
    return await sdk.v1.customers.create_async(
        params={"email": "buyer@example.com", "metadata": {"user_id": "user-1"}}
    )


async def _saved_card(sdk: stripe.StripeClient, customer: str, pm: str) -> str:
    """A card saved for off-session use through a SetupIntent, as Stripe.js would."""
    seti = await sdk.v1.setup_intents.create_async(
        params={"customer": customer, "usage": "off_session", "payment_method_types": ["card"]}
    )
    seti = await sdk.v1.setup_intents.confirm_async(seti.id, params={"payment_method": pm})
    assert seti.status == "succeeded", seti
    assert isinstance(seti.payment_method, str)
    return seti.payment_method


def _off_session(customer: str, pm: str, **extra: Any) -> Any:
    return {
        "amount": 2500,
        "currency": "usd",
        "customer": customer,
        "payment_method": pm,
        "off_session": True,
        "confirm": True,
        "metadata": {"order_id": "order-1", "user_id": "user-1"},
        **extra,
    }


# --- customers and payment methods -----------------------------------------------------------


async def test_customer_default_card_and_list(sdk: stripe.StripeClient) -> None:
    cus = await _customer(sdk)
    assert cus.id.startswith("cus_")
    assert cus.object == "customer"
    assert cus.livemode is False
    assert cus.metadata["user_id"] == "user-1"
    visa = await _saved_card(sdk, cus.id, "pm_card_visa")
    mc = await _saved_card(sdk, cus.id, "pm_card_mastercard")
    listed = await sdk.v1.payment_methods.list_async(params={"customer": cus.id, "type": "card"})
    assert [(p.id, p.card.brand, p.card.last4) for p in listed.data if p.card] == [
        (mc, "mastercard", "4444"),
        (visa, "visa", "4242"),
    ]
    cus = await sdk.v1.customers.update_async(
        cus.id, params={"invoice_settings": {"default_payment_method": visa}}
    )
    assert cus.invoice_settings is not None
    assert cus.invoice_settings.default_payment_method == visa
    again = await sdk.v1.customers.retrieve_async(cus.id)
    assert again.invoice_settings is not None
    assert again.invoice_settings.default_payment_method == visa
    # Detaching the default clears it, as Stripe does.
    detached = await sdk.v1.payment_methods.detach_async(visa)
    assert detached.customer is None
    again = await sdk.v1.customers.retrieve_async(cus.id)
    assert again.invoice_settings is not None
    assert again.invoice_settings.default_payment_method is None
    listed = await sdk.v1.customers.payment_methods.list_async(cus.id)
    assert [p.id for p in listed.data] == [mc]


async def test_card_number_gives_brand_last4_and_expiry(sdk: stripe.StripeClient) -> None:
    pm = await sdk.v1.payment_methods.create_async(
        params={
            "type": "card",
            "card": {"number": "5555555555554444", "exp_month": 7, "exp_year": 2031, "cvc": "314"},
        }
    )
    assert pm.id.startswith("pm_")
    assert pm.type == "card"
    assert pm.card is not None
    assert (pm.card.brand, pm.card.last4, pm.card.exp_month, pm.card.exp_year) == (
        "mastercard",
        "4444",
        7,
        2031,
    )
    with pytest.raises(stripe.CardError) as bad:
        await sdk.v1.payment_methods.create_async(
            params={
                "type": "card",
                "card": {"number": "4242424242424241", "exp_month": 1, "exp_year": 2030},
            }
        )
    assert bad.value.code == "incorrect_number"
    assert bad.value.http_status == 402


async def test_another_customers_card_is_refused(sdk: stripe.StripeClient) -> None:
    alice, bob = await _customer(sdk), await _customer(sdk)
    card = await _saved_card(sdk, alice.id, "pm_card_visa")
    with pytest.raises(stripe.InvalidRequestError):
        await sdk.v1.customers.update_async(
            bob.id, params={"invoice_settings": {"default_payment_method": card}}
        )
    with pytest.raises(stripe.InvalidRequestError):
        await sdk.v1.payment_intents.create_async(params=_off_session(bob.id, card))
    with pytest.raises(stripe.InvalidRequestError):
        await sdk.v1.payment_methods.attach_async(card, params={"customer": bob.id})


# --- SetupIntents with each test card ----------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "code", "decline_code"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
    ],
)
async def test_setup_with_a_declining_card_fails(
    sdk: stripe.StripeClient, token: str, code: str, decline_code: str
) -> None:
    cus = await _customer(sdk)
    seti = await sdk.v1.setup_intents.create_async(params={"customer": cus.id})
    with pytest.raises(stripe.CardError) as declined:
        await sdk.v1.setup_intents.confirm_async(seti.id, params={"payment_method": token})
    err = declined.value
    assert (err.http_status, err.code) == (402, code)
    assert err.error is not None
    assert err.error.decline_code == decline_code
    assert err.error.setup_intent is not None
    assert err.error.setup_intent.id == seti.id
    again = await sdk.v1.setup_intents.retrieve_async(seti.id)
    assert again.status == "requires_payment_method"
    assert again.last_setup_error is not None
    assert again.last_setup_error.code == code
    listed = await sdk.v1.payment_methods.list_async(params={"customer": cus.id})
    assert listed.data == []


@pytest.mark.parametrize("number", ["4000002500003155", "4000002760003184"])
async def test_setup_with_3ds_card_requires_action_then_completes(
    sdk: stripe.StripeClient, fake_stripe: RunningStripe, number: str
) -> None:
    cus = await _customer(sdk)
    pm = await sdk.v1.payment_methods.create_async(
        params={"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034}}
    )
    seti = await sdk.v1.setup_intents.create_async(
        params={"customer": cus.id, "payment_method": pm.id, "confirm": True}
    )
    assert seti.status == "requires_action"
    assert seti.next_action is not None
    assert seti.next_action.type == "use_stripe_sdk"
    fake_stripe.authenticate(seti.id)
    seti = await sdk.v1.setup_intents.retrieve_async(seti.id)
    assert seti.status == "succeeded"
    got = await sdk.v1.payment_methods.retrieve_async(pm.id)
    assert got.customer == cus.id


async def test_setup_3ds_failed_by_the_buyer(
    sdk: stripe.StripeClient, fake_stripe: RunningStripe
) -> None:
    cus = await _customer(sdk)
    seti = await sdk.v1.setup_intents.create_async(
        params={
            "customer": cus.id,
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
            "return_url": "https://shop.example/cards",
        }
    )
    assert seti.next_action is not None
    assert seti.next_action.type == "redirect_to_url"
    fake_stripe.authenticate(seti.id, ok=False)
    seti = await sdk.v1.setup_intents.retrieve_async(seti.id)
    assert seti.status == "requires_payment_method"
    assert seti.last_setup_error is not None
    assert seti.last_setup_error.code == "setup_intent_authentication_failure"


# --- off-session PaymentIntents with each outcome --------------------------------------------


async def test_off_session_charge_succeeds_with_a_charge(sdk: stripe.StripeClient) -> None:
    cus = await _customer(sdk)
    card = await _saved_card(sdk, cus.id, "pm_card_visa")
    pi = await sdk.v1.payment_intents.create_async(
        params=_off_session(cus.id, card) | {"expand": ["latest_charge"]}
    )
    assert pi.id.startswith("pi_")
    assert pi.status == "succeeded"
    assert pi.amount_received == 2500
    charge = pi.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert charge.id.startswith("ch_")
    assert (charge.status, charge.paid, charge.amount, charge.currency) == (
        "succeeded",
        True,
        2500,
        "usd",
    )
    assert charge.metadata["order_id"] == "order-1"
    refund = await sdk.v1.refunds.create_async(params={"payment_intent": pi.id, "amount": 1000})
    assert refund.id.startswith("re_")
    assert refund.status == "succeeded"
    charge = await sdk.v1.charges.retrieve_async(charge.id)
    assert charge.amount_refunded == 1000
    assert charge.refunded is False


@pytest.mark.parametrize(
    ("token", "code", "decline_code"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedLostCard", "card_declined", "lost_card"),
    ],
)
async def test_off_session_decline(
    sdk: stripe.StripeClient, token: str, code: str, decline_code: str
) -> None:
    """A card that declines: 402 with the PaymentIntent in the error, left for a new method."""
    cus = await _customer(sdk)
    with pytest.raises(stripe.CardError) as declined:
        await sdk.v1.payment_intents.create_async(params=_off_session(cus.id, token))
    err = declined.value
    assert (err.http_status, err.code) == (402, code)
    assert err.error is not None
    assert err.error.decline_code == decline_code
    assert err.error.type == "card_error"
    assert err.error.message
    pi = err.error.payment_intent
    assert pi is not None
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error is not None
    assert pi.last_payment_error.decline_code == decline_code
    assert isinstance(err.error.charge, str)
    assert err.error.charge.startswith("ch_")


async def test_saved_card_that_declines_later(
    sdk: stripe.StripeClient, fake_stripe: RunningStripe
) -> None:
    cus = await _customer(sdk)
    # 4000 0000 0000 0341: attaching succeeds, every charge declines.
    card = await _saved_card(sdk, cus.id, "pm_card_chargeCustomerFail")
    with pytest.raises(stripe.CardError) as declined:
        await sdk.v1.payment_intents.create_async(params=_off_session(cus.id, card))
    assert declined.value.code == "card_declined"
    # A card saved fine that is then reported lost: the test switch.
    visa = await _saved_card(sdk, cus.id, "pm_card_visa")
    fake_stripe.behave_as(visa, "4000000000009987")
    with pytest.raises(stripe.CardError) as lost:
        await sdk.v1.payment_intents.create_async(params=_off_session(cus.id, visa))
    assert lost.value.error is not None
    assert lost.value.error.decline_code == "lost_card"


async def test_3155_needs_authentication_off_session_until_set_up(
    sdk: stripe.StripeClient, fake_stripe: RunningStripe
) -> None:
    cus = await _customer(sdk)
    # Not set up: off-session fails with authentication_required.
    pm = await sdk.v1.payment_methods.create_async(
        params={
            "type": "card",
            "card": {"number": "4000002500003155", "exp_month": 3, "exp_year": 2033},
        }
    )
    await sdk.v1.payment_methods.attach_async(pm.id, params={"customer": cus.id})
    with pytest.raises(stripe.CardError) as needs:
        await sdk.v1.payment_intents.create_async(params=_off_session(cus.id, pm.id))
    assert needs.value.code == "authentication_required"
    assert needs.value.error is not None
    assert needs.value.error.decline_code == "authentication_required"
    pi = needs.value.error.payment_intent
    assert pi is not None
    assert pi.status == "requires_payment_method"
    # Set up with a SetupIntent the buyer authenticated: off-session passes.
    seti = await sdk.v1.setup_intents.create_async(
        params={"customer": cus.id, "payment_method": pm.id, "confirm": True}
    )
    assert seti.status == "requires_action"
    fake_stripe.authenticate(seti.id)
    ok = await sdk.v1.payment_intents.create_async(params=_off_session(cus.id, pm.id))
    assert ok.status == "succeeded"


async def test_3184_always_needs_authentication(
    sdk: stripe.StripeClient, fake_stripe: RunningStripe
) -> None:
    cus = await _customer(sdk)
    seti = await sdk.v1.setup_intents.create_async(
        params={
            "customer": cus.id,
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
        }
    )
    fake_stripe.authenticate(seti.id)
    seti = await sdk.v1.setup_intents.retrieve_async(seti.id)
    assert seti.status == "succeeded"
    assert isinstance(seti.payment_method, str)
    with pytest.raises(stripe.CardError) as needs:
        await sdk.v1.payment_intents.create_async(params=_off_session(cus.id, seti.payment_method))
    assert needs.value.code == "authentication_required"
    # The buyer comes back on-session and completes the same PaymentIntent.
    pi = needs.value.error.payment_intent if needs.value.error else None
    assert pi is not None
    pi = await sdk.v1.payment_intents.confirm_async(
        pi.id,
        params={"payment_method": seti.payment_method, "return_url": "https://shop.example/r"},
    )
    assert pi.status == "requires_action"
    assert pi.next_action is not None
    assert pi.next_action.redirect_to_url is not None
    async with httpx.AsyncClient() as http:
        page = await http.get(pi.next_action.redirect_to_url.url)
        assert page.status_code == 200
        assert "Complete authentication" in page.text
        done = await http.post(f"{pi.next_action.redirect_to_url.url}/complete", data={"ui": "1"})
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"https://shop.example/r?payment_intent={pi.id}")
    pi = await sdk.v1.payment_intents.retrieve_async(pi.id)
    assert pi.status == "succeeded"
    assert pi.latest_charge is not None


async def test_on_session_3ds_failed(sdk: stripe.StripeClient, fake_stripe: RunningStripe) -> None:
    pi = await sdk.v1.payment_intents.create_async(
        params={
            "amount": 990,
            "currency": "eur",
            "payment_method": "pm_card_authenticationRequiredOnSetup",
            "confirm": True,
        }
    )
    assert pi.status == "requires_action"
    fake_stripe.authenticate(pi.id, ok=False)
    pi = await sdk.v1.payment_intents.retrieve_async(pi.id)
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error is not None
    assert pi.last_payment_error.code == "payment_intent_authentication_failure"


async def test_on_session_payment_that_saves_the_card(
    sdk: stripe.StripeClient, fake_stripe: RunningStripe
) -> None:
    """A purchase with `setup_future_usage=off_session` saves the card it authenticated."""
    cus = await _customer(sdk)
    pi = await sdk.v1.payment_intents.create_async(
        params={
            "amount": 1500,
            "currency": "usd",
            "customer": cus.id,
            "payment_method": "pm_card_authenticationRequiredOnSetup",
            "setup_future_usage": "off_session",
            "confirm": True,
        }
    )
    fake_stripe.authenticate(pi.id)
    pi = await sdk.v1.payment_intents.retrieve_async(pi.id)
    assert pi.status == "succeeded"
    assert isinstance(pi.payment_method, str)
    again = await sdk.v1.payment_intents.create_async(
        params=_off_session(cus.id, pi.payment_method)
    )
    assert again.status == "succeeded"


# --- idempotency -----------------------------------------------------------------------------


async def test_idempotency_key_replays_and_refuses_other_params(sdk: stripe.StripeClient) -> None:
    cus = await _customer(sdk)
    card = await _saved_card(sdk, cus.id, "pm_card_visa")
    key: Any = {"idempotency_key": "auto-recharge-user-1-crossing-7"}
    first = await sdk.v1.payment_intents.create_async(
        params=_off_session(cus.id, card), options=key
    )
    again = await sdk.v1.payment_intents.create_async(
        params=_off_session(cus.id, card), options=key
    )
    assert again.id == first.id
    assert again.latest_charge == first.latest_charge
    assert again.last_response is not None
    assert again.last_response.headers["idempotent-replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError):
        await sdk.v1.payment_intents.create_async(
            params=_off_session(cus.id, card, amount=2600), options=key
        )
    # A decline is replayed too: the same PaymentIntent, no second attempt at the card.
    declined_key: Any = {"idempotency_key": "declined-once"}
    errors = []
    for _ in range(2):
        with pytest.raises(stripe.CardError) as declined:
            await sdk.v1.payment_intents.create_async(
                params=_off_session(cus.id, "pm_card_chargeDeclined"), options=declined_key
            )
        assert declined.value.error is not None
        assert declined.value.error.payment_intent
        errors.append(declined.value.error.payment_intent.id)
    assert errors[0] == errors[1]


# --- webhooks --------------------------------------------------------------------------------


async def test_webhooks_signed_retried_and_listed(
    sdk: stripe.StripeClient, fake_stripe: RunningStripe
) -> None:
    received: list[stripe.Event] = []
    refused_once: set[str] = set()

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        event = stripe.Webhook.construct_event(
            body.decode(), request.headers["stripe-signature"], SECRET
        )
        if event.type == "payment_method.attached" and event.id not in refused_once:
            refused_once.add(event.id)  # a receiver that fails once: Stripe tries again
            return Response(status_code=503)
        received.append(event)
        return Response(status_code=200)

    async with serving(Starlette(routes=[Route("/hook", endpoint, methods=["POST"])])) as url:
        fake_stripe.add_webhook_endpoint(f"{url}/hook", SECRET)
        cus = await _customer(sdk)
        card = await _saved_card(sdk, cus.id, "pm_card_visa")
        await sdk.v1.customers.update_async(
            cus.id, params={"invoice_settings": {"default_payment_method": card}}
        )
        await sdk.v1.payment_intents.create_async(params=_off_session(cus.id, card))
        with pytest.raises(stripe.CardError):
            await sdk.v1.payment_intents.create_async(
                params=_off_session(cus.id, "pm_card_chargeDeclined")
            )
        pi = await sdk.v1.payment_intents.create_async(
            params={
                "amount": 500,
                "currency": "usd",
                "payment_method": "pm_card_authenticationRequired",
                "confirm": True,
            }
        )
        await sdk.v1.payment_methods.detach_async(card)
        made = len(fake_stripe.fake.events)
        deliveries = await fake_stripe.wait_delivered(made)
    types = {e.type for e in received}
    assert {
        "customer.created",
        "setup_intent.succeeded",
        "payment_method.attached",
        "customer.updated",
        "payment_intent.succeeded",
        "charge.succeeded",
        "payment_intent.payment_failed",
        "charge.failed",
        "payment_intent.requires_action",
        "payment_method.detached",
    } <= types
    assert len(received) == made == len({e.id for e in received})
    retried = [d for d in deliveries if d.event_type == "payment_method.attached"]
    assert [a["status"] for a in retried[0].attempts] == [503, 200]
    requires_action = next(e for e in received if e.type == "payment_intent.requires_action")
    assert requires_action.data.object["id"] == pi.id
    updated = next(e for e in received if e.type == "customer.updated")
    assert updated.data.object["invoice_settings"]["default_payment_method"] == card
    assert updated.data.previous_attributes is not None
    assert updated.data.previous_attributes.to_dict() == {
        "invoice_settings": {"default_payment_method": None}
    }
    listed = await sdk.v1.events.list_async(params={"type": "payment_intent.succeeded"})
    assert [e.type for e in listed.data] == ["payment_intent.succeeded"]


async def test_wrong_signature_secret_does_not_verify(fake_stripe: RunningStripe) -> None:
    bodies: list[tuple[bytes, str]] = []

    async def endpoint(request: Request) -> Response:
        bodies.append((await request.body(), request.headers["stripe-signature"]))
        return Response(status_code=200)

    async with serving(Starlette(routes=[Route("/hook", endpoint, methods=["POST"])])) as url:
        fake_stripe.add_webhook_endpoint(f"{url}/hook", SECRET)
        async with httpx.AsyncClient() as http:
            r = await http.post(
                f"{fake_stripe.url}/v1/customers",
                data={"email": "x@example.com"},
                headers={"Authorization": f"Bearer {API_KEY}"},
            )
        assert r.status_code == 200
        await fake_stripe.wait_delivered(1)
    body, header = bodies[0]
    assert stripe.Webhook.construct_event(body.decode(), header, SECRET).type == "customer.created"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.decode(), header, "whsec_other")


# --- the wire format and stripe-mock ---------------------------------------------------------


async def test_api_key_required(fake_stripe: RunningStripe) -> None:
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{fake_stripe.url}/v1/customers", data={"email": "x@example.com"})
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "invalid_request_error"


async def test_stripe_mock_checks_shapes_first(sdk: stripe.StripeClient) -> None:
    """A parameter Stripe does not take is refused by stripe-mock before the fake acts, and a
    path the fake does not implement is answered by stripe-mock."""
    with pytest.raises(stripe.InvalidRequestError, match="Request validation error"):
        await sdk.v1.customers.create_async(params={"not_a_stripe_param": "x"})  # type: ignore[arg-type]
    with pytest.raises(stripe.InvalidRequestError):
        await sdk.v1.payment_intents.create_async(
            params={"amount": 100, "currency": "usd", "confirm": "maybe"}  # type: ignore[typeddict-item]
        )
    balance = await sdk.v1.balance.retrieve_async()
    assert balance.object == "balance"


async def test_unknown_object_is_404_resource_missing(sdk: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as gone:
        await sdk.v1.payment_intents.retrieve_async("pi_never_made")
    assert gone.value.http_status == 404
    assert gone.value.code == "resource_missing"


async def test_many_concurrent_requests(sdk: stripe.StripeClient) -> None:
    cus = await _customer(sdk)
    card = await _saved_card(sdk, cus.id, "pm_card_visa")
    same: Any = {"idempotency_key": "concurrent"}
    got = await asyncio.gather(
        *(
            sdk.v1.payment_intents.create_async(params=_off_session(cus.id, card), options=same)
            for _ in range(10)
        ),
        return_exceptions=True,
    )
    ids = {g.id for g in got if isinstance(g, stripe.PaymentIntent)}
    # One PaymentIntent; a request racing the first answers 409 (Stripe: retry later).
    assert len(ids) == 1
    for g in got:
        if not isinstance(g, stripe.PaymentIntent):
            assert isinstance(g, stripe.StripeError)
            assert g.http_status == 409


async def test_lists_by_customer(sdk: stripe.StripeClient) -> None:
    alice, bob = await _customer(sdk), await _customer(sdk)
    card = await _saved_card(sdk, alice.id, "pm_card_visa")
    first = await sdk.v1.payment_intents.create_async(params=_off_session(alice.id, card))
    second = await sdk.v1.payment_intents.create_async(params=_off_session(alice.id, card))
    listed = await sdk.v1.payment_intents.list_async(params={"customer": alice.id, "limit": 1})
    assert [p.id for p in listed.data] == [second.id]
    assert listed.has_more is True
    page = await sdk.v1.payment_intents.list_async(
        params={"customer": alice.id, "starting_after": second.id}
    )
    assert [p.id for p in page.data] == [first.id]
    assert (await sdk.v1.payment_intents.list_async(params={"customer": bob.id})).data == []
    setis = await sdk.v1.setup_intents.list_async(params={"customer": alice.id})
    assert [s.payment_method for s in setis.data] == [card]


async def test_publishable_key_confirms_only_with_the_client_secret(
    fake_stripe: RunningStripe,
) -> None:
    """What Stripe.js does with the publishable key: make a PaymentMethod and confirm the
    intent whose client_secret it was given; nothing else."""
    pk = {"Authorization": "Bearer pk_test_123"}
    sk = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=fake_stripe.url) as http:
        seti = (
            await http.post("/v1/setup_intents", data={"usage": "off_session"}, headers=sk)
        ).json()
        pm = await http.post(
            "/v1/payment_methods",
            data={
                "type": "card",
                "card[number]": "4242424242424242",
                "card[exp_month]": "4",
                "card[exp_year]": "2032",
            },
            headers=pk,
        )
        assert pm.status_code == 200, pm.text
        wrong = await http.post(
            f"/v1/setup_intents/{seti['id']}/confirm",
            data={"payment_method": pm.json()["id"], "client_secret": "seti_x_secret_y"},
            headers=pk,
        )
        assert wrong.status_code == 401
        ok = await http.post(
            f"/v1/setup_intents/{seti['id']}/confirm",
            data={"payment_method": pm.json()["id"], "client_secret": seti["client_secret"]},
            headers=pk,
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["status"] == "succeeded"
        refused = await http.post("/v1/customers", data={"email": "a@example.com"}, headers=pk)
        assert refused.status_code == 401
