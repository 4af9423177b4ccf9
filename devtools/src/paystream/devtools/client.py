"""An HTTP client of the running stack that plays the frontend and Stripe, for the end-to-end
tests and the benchmarks.

The services' APIs are called through the generated client (`paystream_client`, from
docs/api/), as an adopter would, so the end-to-end tests exercise the published contract.
Provider notifications stay raw HTTP: a signature covers the exact bytes, which a client that
re-encodes a model cannot keep.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
from paystream_client.checkout import AuthenticatedClient as CheckoutClient
from paystream_client.checkout.api.orders import create_order, get_order
from paystream_client.checkout.api.refunds import create_refund
from paystream_client.checkout.models import CreateOrderIn, CreateRefundIn, MoneyIn
from paystream_client.invoicing import AuthenticatedClient as InvoicingClient
from paystream_client.invoicing.api.invoices import get_invoice, list_credit_notes, list_invoices
from paystream_client.ledger import AuthenticatedClient as LedgerClient
from paystream_client.ledger.api.balances_and_lots import get_balance
from paystream_client.ledger.api.history import list_transactions

from paystream.devtools.fakes.signing import sign_stripe_payload
from paystream.devtools.stripe_events import checkout_session_completed, encode
from paystream.shared.auth import make_token
from paystream.shared.money import Money

JWT_SECRET = "e2e-jwt-secret-long-enough-for-hs256-0123456789"  # the stack is started with it
WEBHOOK_SECRETS = ("whsec_e2e_current", "whsec_e2e_previous")


@dataclass(frozen=True)
class Reply:
    """What a generated client's call answered: its status and its parsed model (the service's
    model, or ErrorResponse), `json()` giving the model back as a dict."""

    status_code: int
    parsed: Any

    def json(self) -> dict[str, Any]:
        assert self.parsed is not None, f"undocumented answer {self.status_code}"
        return dict(self.parsed.to_dict())


def _reply(r: Any) -> Reply:
    return Reply(int(r.status_code), r.parsed)


@dataclass
class Harness:
    urls: dict[str, str]
    http: httpx.AsyncClient
    # One connection pool under every generated client (a client per user and service, since
    # a generated client carries its token).
    _transport: httpx.AsyncHTTPTransport = field(
        default_factory=lambda: httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64)
        )
    )
    _clients: dict[tuple[str, str, bool], Any] = field(default_factory=dict)

    def auth(self, user_id: str, *, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, admin=admin)}"}

    @staticmethod
    def token(user_id: str, *, admin: bool = False) -> str:
        return make_token(user_id, JWT_SECRET, role="admin" if admin else None)

    def _client(self, cls: Any, service: str, user_id: str, admin: bool) -> Any:
        key = (service, user_id, admin)
        if key not in self._clients:
            self._clients[key] = cls(
                base_url=self.urls[service],
                token=self.token(user_id, admin=admin),
                timeout=httpx.Timeout(30.0),
                raise_on_unexpected_status=True,
                httpx_args={"transport": self._transport},
            )
        return self._clients[key]

    def checkout(self, user_id: str, *, admin: bool = False) -> CheckoutClient:
        client: CheckoutClient = self._client(CheckoutClient, "checkout", user_id, admin)
        return client

    def ledger(self, user_id: str, *, admin: bool = False) -> LedgerClient:
        client: LedgerClient = self._client(LedgerClient, "ledger", user_id, admin)
        return client

    def invoicing(self, user_id: str, *, admin: bool = False) -> InvoicingClient:
        client: InvoicingClient = self._client(InvoicingClient, "invoicing", user_id, admin)
        return client

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def create_order(
        self,
        user_id: str,
        package_id: str = "standard",
        *,
        method: str = "stripe_checkout",
        currency: str | None = None,
    ) -> dict[str, Any]:
        # The method is a test's parameter: an unknown one must reach the service, not stop here.
        body = CreateOrderIn(package_id=package_id, payment_method=cast(Any, method))
        if currency is not None:
            body.currency = currency
        r = _reply(
            await create_order.asyncio_detailed(
                client=self.checkout(user_id), body=body, idempotency_key=str(uuid.uuid4())
            )
        )
        assert r.status_code == 201, r.json()
        return r.json()

    async def refund(
        self, order_id: str, amount: dict[str, str] | None = None, *, key: str | None = None
    ) -> Reply:
        body = CreateRefundIn(order_id=order_id, reason="requested_by_customer")
        if amount is not None:
            body.amount = MoneyIn(value=amount["value"], currency=amount["currency"])
        return _reply(
            await create_refund.asyncio_detailed(
                client=self.checkout("e2e-admin", admin=True),
                body=body,
                idempotency_key=key or uuid.uuid4().hex,
            )
        )

    async def credit_notes(self, user_id: str, order_id: str) -> list[dict[str, Any]]:
        r = _reply(
            await list_credit_notes.asyncio_detailed(
                client=self.invoicing(user_id), order_id=order_id
            )
        )
        assert r.status_code == 200, r.json()
        return list(r.json()["items"])

    def paid_event(self, order: dict[str, Any], user_id: str, **kw: Any) -> dict[str, Any]:
        return checkout_session_completed(
            order_id=order["order_id"],
            user_id=user_id,
            credits=order["credits"],
            amount_minor=Money.parse(order["amount"]["value"], order["amount"]["currency"]).minor,
            currency=order["amount"]["currency"],
            session_id=order["provider_session_id"],
            **{"package_id": order["package_id"], **kw},
        )

    async def send_webhook(
        self,
        event: dict[str, Any] | bytes,
        *,
        secret: str = WEBHOOK_SECRETS[0],
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        body = event if isinstance(event, bytes) else encode(event)
        sig = signature or sign_stripe_payload(body, secret, timestamp or int(time.time()))
        return await self.http.post(
            f"{self.urls['webhook-ingest']}/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": sig, "Content-Type": "application/json"},
        )

    async def balance(self, user_id: str) -> int:
        r = _reply(await get_balance.asyncio_detailed(client=self.ledger(user_id)))
        assert r.status_code == 200, r.json()
        return int(r.json()["credits"])

    async def transactions(self, user_id: str) -> list[dict[str, Any]]:
        r = _reply(await list_transactions.asyncio_detailed(client=self.ledger(user_id)))
        assert r.status_code == 200, r.json()
        return list(r.json()["items"])

    async def order(self, user_id: str, order_id: str, *, admin: bool = False) -> Reply:
        return _reply(
            await get_order.asyncio_detailed(
                order_id=order_id, client=self.checkout(user_id, admin=admin)
            )
        )

    async def invoices(self, user_id: str, order_id: str) -> list[dict[str, Any]]:
        r = _reply(
            await list_invoices.asyncio_detailed(client=self.invoicing(user_id), order_id=order_id)
        )
        assert r.status_code == 200, r.json()
        return list(r.json()["items"])

    async def invoice(self, user_id: str, invoice_id: str) -> Reply:
        return _reply(
            await get_invoice.asyncio_detailed(
                invoice_id=invoice_id, client=self.invoicing(user_id)
            )
        )

    async def saved_cards(self, user_id: str) -> list[dict[str, Any]]:
        r = await self.http.get(
            f"{self.urls['checkout']}/v1/payment-methods/saved", headers=self.auth(user_id)
        )
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    async def save_card(self, fake: httpx.AsyncClient, user_id: str, token: str) -> str:
        """Save a card as the web page does: a SetupIntent from checkout, confirmed by Stripe.js
        (here: the stateful fake Stripe's API, `fake`), 3-D Secure completed when the card asks;
        checkout learns the card from Stripe's webhooks. Returns the card's pm_ id."""
        r = await self.http.post(
            f"{self.urls['checkout']}/v1/payment-methods/setup", headers=self.auth(user_id)
        )
        assert r.status_code == 201, r.text
        seti = r.json()["setup_intent_id"]
        before = {m["id"] for m in await self.saved_cards(user_id)}
        r = await fake.post(
            f"/v1/setup_intents/{seti}/confirm",
            data={"payment_method": token, "return_url": "https://shop.example/cards"},
            headers={"Authorization": "Bearer sk_test_123"},
        )
        assert r.status_code == 200, r.text
        if r.json()["status"] == "requires_action":
            done = await fake.post(f"/_fake/3ds/{seti}/complete")
            assert done.status_code == 200, done.text

        async def listed() -> str | None:
            new = [m["id"] for m in await self.saved_cards(user_id) if m["id"] not in before]
            return new[0] if new else None

        pm: str = await self.eventually(listed)
        return pm

    async def eventually(self, check: Any, timeout_s: float = 30.0) -> Any:
        """Poll an async check until it returns a truthy value."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = await check()
            if value:
                return value
            assert time.monotonic() < deadline, f"not reached within {timeout_s}s"
            await asyncio.sleep(0.1)
