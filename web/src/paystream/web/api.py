"""The one client of the services' HTTP APIs: the only module of the web app that knows their
paths and the shapes of their answers. Pages get plain dicts (as the APIs document them) or an
`Unavailable` that says which API a section waits for.

Every call carries the signed-in person's bearer token; the services decide what it may see.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote as path_part

import httpx

from paystream.web.settings import WebSettings


class ApiError(Exception):
    """A service refused (4xx) or failed (5xx); `code` is its error code."""

    def __init__(
        self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        # A validation_error's fields (`loc`, `msg`): what lets a page say which field it was.
        self.details = details or []


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A section whose API does not exist yet (the service answered 404 for the route)."""

    api: str

    def __bool__(self) -> bool:
        return False


# What each not-yet-built section waits for (shown on the page, checked in the tests).
WAITS_FOR = {
    "plans": "checkout GET /v1/plans",
    "lots": "ledger GET /v1/lots (balances per unit, validity and expiry)",
}


class Api:
    def __init__(self, http: httpx.AsyncClient, settings: WebSettings, token: str | None) -> None:
        self.http = http
        self.s = settings
        self.token = token

    # ---- plumbing --------------------------------------------------------------------------

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**h, **(extra or {})}

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            r = await self.http.request(
                method,
                url,
                params={k: v for k, v in (params or {}).items() if v is not None},
                json=json,
                headers=self._headers(headers),
                timeout=self.s.api_timeout_s,
            )
        except httpx.HTTPError as exc:
            raise ApiError(503, "service_unreachable", f"{url}: {exc!r}") from None
        if r.status_code >= 400:
            details: list[dict[str, Any]] = []
            try:
                err = r.json()["error"]
                code, message = str(err["code"]), str(err["message"])
                if isinstance(err.get("details"), list):
                    details = [d for d in err["details"] if isinstance(d, dict)]
            except (ValueError, KeyError, TypeError):
                code, message = "http_error", r.text[:200]
            raise ApiError(r.status_code, code, message, details)
        return r

    async def _json(self, method: str, url: str, **kw: Any) -> dict[str, Any]:
        body: dict[str, Any] = (await self._call(method, url, **kw)).json()
        return body

    async def _optional(self, key: str, url: str, **kw: Any) -> dict[str, Any] | Unavailable:
        """A section whose route may not exist yet: its 404 becomes `Unavailable`."""
        try:
            return await self._json("GET", url, **kw)
        except ApiError as exc:
            if exc.status == 404:
                return Unavailable(WAITS_FOR[key])
            raise

    # ---- checkout ----------------------------------------------------------------------------

    async def packages(self) -> list[dict[str, Any]]:
        body = await self._json("GET", f"{self.s.checkout_url}/v1/packages")
        return list(body["packages"])

    async def payment_methods(self, currency: str) -> list[dict[str, Any]]:
        body = await self._json(
            "GET", f"{self.s.checkout_url}/v1/payment-methods", params={"currency": currency}
        )
        return list(body["methods"])

    async def plans(self) -> dict[str, Any] | Unavailable:
        return await self._optional("plans", f"{self.s.checkout_url}/v1/plans")

    async def create_order(
        self,
        *,
        package_id: str | None = None,
        quote: str | None = None,
        payment_method: str,
        currency: str,
        return_url: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """An order for a package, or for a quote's token (a quantity or a custom amount,
        charged exactly as quoted: the token is checkout's, signed, the page never prices)."""
        item = {"package_id": package_id} if quote is None else {"quote": quote}
        return await self._json(
            "POST",
            f"{self.s.checkout_url}/v1/orders",
            json={
                **item,
                "payment_method": payment_method,
                "currency": currency,
                "return_url": return_url,
            },
            headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
        )

    # ---- unit products, quotes, plans and the subscription (issue 11) ------------------------

    async def products(self) -> list[dict[str, Any]]:
        body = await self._json("GET", f"{self.s.checkout_url}/v1/products")
        return list(body["products"])

    async def quote(
        self,
        *,
        product_id: str,
        currency: str,
        quantity: int | None = None,
        amount: str | None = None,
    ) -> dict[str, Any]:
        """Checkout's price for a quantity or a custom amount (exactly one), with its lines,
        grants and the signed token an order is made from."""
        body: dict[str, Any] = {"product_id": product_id}
        if amount is None:
            body |= {"quantity": quantity, "currency": currency}
        else:
            body["amount"] = {"value": amount, "currency": currency}
        return await self._json("POST", f"{self.s.checkout_url}/v1/quotes", json=body)

    async def subscription(self) -> dict[str, Any] | Unavailable:
        return await self._optional("plans", f"{self.s.checkout_url}/v1/subscription")

    async def subscribe(
        self,
        *,
        plan_id: str,
        payment_method: str,
        currency: str,
        return_url: str,
        idempotency_key: str,
    ) -> dict[str, Any]:
        return await self._json(
            "POST",
            f"{self.s.checkout_url}/v1/subscriptions",
            json={
                "plan_id": plan_id,
                "payment_method": payment_method,
                "currency": currency,
                "return_url": return_url,
            },
            headers={"Idempotency-Key": idempotency_key},
        )

    async def preview_change(self, plan_id: str) -> dict[str, Any]:
        return await self._json(
            "POST", f"{self.s.checkout_url}/v1/subscriptions/preview", json={"plan_id": plan_id}
        )

    async def change_plan(
        self,
        *,
        plan_id: str,
        preview: str | None,
        payment_method: str | None,
        return_url: str,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Change plans; with a preview's token the upgrade is charged exactly as previewed."""
        body: dict[str, Any] = {"plan_id": plan_id, "return_url": return_url}
        if preview:
            body["preview"] = preview
        if payment_method:
            body["payment_method"] = payment_method
        return await self._json(
            "POST",
            f"{self.s.checkout_url}/v1/subscriptions/change",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )

    async def cancel_plan(self) -> dict[str, Any]:
        return await self._json("POST", f"{self.s.checkout_url}/v1/subscriptions/cancel")

    async def resume_plan(self) -> dict[str, Any]:
        return await self._json("POST", f"{self.s.checkout_url}/v1/subscriptions/resume")

    async def renew_plan(
        self, *, payment_method: str | None, return_url: str, idempotency_key: str
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"return_url": return_url}
        if payment_method:
            body["payment_method"] = payment_method
        return await self._json(
            "POST",
            f"{self.s.checkout_url}/v1/subscriptions/renew",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )

    async def order(self, order_id: str) -> dict[str, Any]:
        return await self._json("GET", f"{self.s.checkout_url}/v1/orders/{order_id}")

    async def sync_order(self, order_id: str) -> dict[str, Any] | None:
        """Ask checkout to ask the provider (POST /v1/orders/{id}/sync): the order as it stands
        after, or None when the answer cannot be had now (asked a moment ago: 429; the
        provider unreachable: 502). The page then shows what checkout knows and keeps polling."""
        try:
            body = await self._json("POST", f"{self.s.checkout_url}/v1/orders/{order_id}/sync")
        except ApiError as exc:
            if exc.status in (409, 429) or exc.status >= 500:
                return None
            raise
        order: dict[str, Any] = body["order"]
        return order

    async def orders(self, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        return await self._json(
            "GET", f"{self.s.checkout_url}/v1/orders", params={"limit": limit, "cursor": cursor}
        )

    async def cancel_order(self, order_id: str) -> dict[str, Any]:
        return await self._json("POST", f"{self.s.checkout_url}/v1/orders/{order_id}/cancel")

    async def order_qr_svg(self, order_id: str) -> bytes:
        r = await self._call(
            "GET", f"{self.s.checkout_url}/v1/orders/{order_id}/qr", params={"format": "svg"}
        )
        return r.content

    async def saved_cards(self) -> list[dict[str, Any]]:
        """The caller's saved cards: id, brand, last4, exp_month, exp_year, default."""
        body = await self._json("GET", f"{self.s.checkout_url}/v1/payment-methods/saved")
        return list(body["items"])

    async def start_card_setup(self) -> dict[str, Any]:
        """A SetupIntent for Stripe.js to confirm: setup_intent_id, client_secret."""
        return await self._json("POST", f"{self.s.checkout_url}/v1/payment-methods/setup")

    async def make_default_card(self, method_id: str) -> dict[str, Any]:
        return await self._json("POST", f"{self._saved_card_url(method_id)}/default")

    async def remove_card(self, method_id: str) -> None:
        await self._call("DELETE", self._saved_card_url(method_id))

    def _saved_card_url(self, method_id: str) -> str:
        return f"{self.s.checkout_url}/v1/payment-methods/saved/{path_part(method_id, safe='')}"

    async def auto_recharge(self) -> dict[str, Any]:
        """The settings per unit (`items`, with status, last_error, action_url) and the latest
        `attempts`."""
        return await self._json("GET", f"{self.s.checkout_url}/v1/auto-recharge")

    async def set_auto_recharge(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._json("PUT", f"{self.s.checkout_url}/v1/auto-recharge", json=body)

    async def trigger_auto_recharge(self, unit: str, idempotency_key: str) -> dict[str, Any]:
        return await self._json(
            "POST",
            f"{self.s.checkout_url}/v1/auto-recharge/trigger",
            json={"unit": unit},
            headers={"Idempotency-Key": idempotency_key},
        )

    async def payment_stats(self) -> dict[str, Any]:
        return await self._json("GET", f"{self.s.checkout_url}/v1/admin/stats/payments")

    async def unmatched_refunds(self, limit: int = 20) -> dict[str, Any]:
        """Refunds a provider reported that checkout could not apply, newest first (`items`,
        `next_cursor` when there are more)."""
        return await self._json(
            "GET", f"{self.s.checkout_url}/v1/admin/refunds/unmatched", params={"limit": limit}
        )

    # ---- ledger ------------------------------------------------------------------------------

    async def balances(self) -> list[dict[str, Any]]:
        """Balances per unit: available, held, and the next expiry (when, and how many credits)."""
        body = await self._json("GET", f"{self.s.ledger_url}/v1/balance")
        out = []
        for b in body["balances"]:
            expiry = b.get("next_expiry")
            out.append(
                {
                    "unit": b["unit"],
                    "available": int(b["available"]),
                    "held": int(b["held"]),
                    "next_expiry": expiry["expires_at"] if expiry else None,
                    "next_expiry_credits": int(expiry["credits"]) if expiry else 0,
                }
            )
        return out

    async def lots(self, limit: int = 50) -> dict[str, Any] | Unavailable:
        """The user's lots, newest first: unit, source, status, credits, remaining, expiry."""
        return await self._optional("lots", f"{self.s.ledger_url}/v1/lots", params={"limit": limit})

    async def transactions(self, limit: int = 20) -> list[dict[str, Any]]:
        body = await self._json(
            "GET", f"{self.s.ledger_url}/v1/transactions", params={"limit": limit}
        )
        return list(body["items"])

    # ---- invoicing ---------------------------------------------------------------------------

    async def invoices(
        self, *, order_id: str | None = None, limit: int = 20
    ) -> list[dict[str, Any]]:
        body = await self._json(
            "GET",
            f"{self.s.invoicing_url}/v1/invoices",
            params={"order_id": order_id, "limit": limit},
        )
        return list(body["items"])

    async def credit_notes(self, limit: int = 20) -> list[dict[str, Any]]:
        body = await self._json(
            "GET", f"{self.s.invoicing_url}/v1/credit-notes", params={"limit": limit}
        )
        return list(body["items"])

    async def document_pdf(self, kind: str, document_id: str) -> httpx.Response:
        path = {"invoice": "invoices", "credit_note": "credit-notes"}[kind]
        return await self._call("GET", f"{self.s.invoicing_url}/v1/{path}/{document_id}/pdf")

    async def billing_profile(self) -> dict[str, Any] | None:
        try:
            return await self._json("GET", f"{self.s.invoicing_url}/v1/billing-profile")
        except ApiError as exc:
            if exc.code == "billing_profile_not_found":
                return None
            raise

    async def save_billing_profile(self, profile: dict[str, str]) -> dict[str, Any]:
        return await self._json("PUT", f"{self.s.invoicing_url}/v1/billing-profile", json=profile)

    async def revenue_stats(self) -> dict[str, Any]:
        return await self._json("GET", f"{self.s.invoicing_url}/v1/admin/stats/revenue")
