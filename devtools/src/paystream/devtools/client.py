"""An HTTP client of the running stack that plays the frontend and Stripe, for the end-to-end
tests and the benchmarks."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from paystream.devtools.stripe_events import checkout_session_completed, encode
from paystream.shared.auth import make_token
from paystream.shared.money import Money
from paystream.shared.stripe_signing import sign_stripe_payload

JWT_SECRET = "e2e-jwt-secret-long-enough-for-hs256-0123456789"  # the stack is started with it
WEBHOOK_SECRETS = ("whsec_e2e_current", "whsec_e2e_previous")


@dataclass
class Harness:
    urls: dict[str, str]
    http: httpx.AsyncClient

    def auth(self, user_id: str, *, admin: bool = False) -> dict[str, str]:
        role = "admin" if admin else None
        return {"Authorization": f"Bearer {make_token(user_id, JWT_SECRET, role=role)}"}

    async def create_order(
        self,
        user_id: str,
        package_id: str = "standard",
        *,
        method: str = "stripe_checkout",
        currency: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"package_id": package_id, "payment_method": method}
        if currency is not None:
            body["currency"] = currency
        r = await self.http.post(
            f"{self.urls['checkout']}/v1/orders",
            headers={**self.auth(user_id), "Idempotency-Key": str(uuid.uuid4())},
            json=body,
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def refund(
        self, order_id: str, amount: dict[str, str] | None = None, *, key: str | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"order_id": order_id, "reason": "requested_by_customer"}
        if amount is not None:
            body["amount"] = amount
        return await self.http.post(
            f"{self.urls['checkout']}/v1/refunds",
            headers={
                **self.auth("e2e-admin", admin=True),
                "Idempotency-Key": key or uuid.uuid4().hex,
            },
            json=body,
        )

    async def credit_notes(self, user_id: str, order_id: str) -> list[dict[str, Any]]:
        r = await self.http.get(
            f"{self.urls['invoicing']}/v1/credit-notes",
            headers=self.auth(user_id),
            params={"order_id": order_id},
        )
        assert r.status_code == 200, r.text
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
        r = await self.http.get(f"{self.urls['ledger']}/v1/balance", headers=self.auth(user_id))
        assert r.status_code == 200, r.text
        return int(r.json()["credits"])

    async def order(self, user_id: str, order_id: str) -> httpx.Response:
        return await self.http.get(
            f"{self.urls['checkout']}/v1/orders/{order_id}", headers=self.auth(user_id)
        )

    async def invoices(self, user_id: str, order_id: str) -> list[dict[str, Any]]:
        r = await self.http.get(
            f"{self.urls['invoicing']}/v1/invoices",
            headers=self.auth(user_id),
            params={"order_id": order_id},
        )
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    async def eventually(self, check: Any, timeout_s: float = 30.0) -> Any:
        """Poll an async check until it returns a truthy value."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = await check()
            if value:
                return value
            assert time.monotonic() < deadline, f"not reached within {timeout_s}s"
            await asyncio.sleep(0.1)
