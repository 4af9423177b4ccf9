"""A Stripe that can say no: Customers, PaymentMethods, SetupIntents, PaymentIntents, Charges,
Refunds and Events in memory, Stripe's test cards with their documented outcomes, signed webhooks.

stripe-mock checks request shapes against Stripe's OpenAPI specification but answers fixtures: it
cannot decline a card, ask for 3-D Secure or remember a saved card. This fake can, in Stripe's
wire format as stripe-python speaks it: form bodies with bracket nesting (`metadata[k]=v`,
`expand[0]=x`), `Authorization: Bearer sk_test_...`, `Idempotency-Key` (same key and parameters:
the first answer again, `Idempotent-Replayed: true`; other parameters: 400 `idempotency_error`),
JSON objects with `object`, `livemode: false` and Stripe's id prefixes, and Stripe's error body
`{"error": {"type", "code", "decline_code", "message", "param", "payment_intent" | "setup_intent"
| "payment_method" | "charge"}}` (402 for card errors).

API (`/v1`): customers (create, retrieve, update, delete, `GET /v1/customers/{id}/payment_methods`),
payment_methods (create `type=card` with `card[number]`, retrieve, update, attach, detach, list by
customer), setup_intents (create, retrieve, list, confirm, cancel), payment_intents (create with
`confirm`, `off_session`, `setup_future_usage`, retrieve, list, update, confirm, cancel), charges
(retrieve), refunds (create, retrieve), events (list, retrieve). Anywhere a PaymentMethod id
goes, Stripe's test tokens (`pm_card_visa`, `pm_card_chargeDeclined`, ...) make a new one.

Cards (`TEST_CARDS`, `TEST_TOKENS`): 4242 4242 4242 4242 and the brands' numbers succeed;
4000 0000 0000 0002 declines (`card_declined` / `generic_decline`), ...9995 `insufficient_funds`,
...9987 `lost_card`, ...9979 `stolen_card`, ...0069 `expired_card`, ...0127 `incorrect_cvc`,
...0119 `processing_error`; these are refused when saved too (attach, SetupIntent), as Stripe
does, while 4000 0000 0000 0341 saves and then declines every charge. 4000 0025 0000 3155 needs
3-D Secure for a SetupIntent and on-session payments, and passes off-session once set up (a
SetupIntent, or an on-session payment with `setup_future_usage=off_session`, authenticated);
off-session before that it fails with 402 `authentication_required`. 4000 0027 6000 3184 (and
...3220, ...3063) always needs it: `requires_action` on-session, 402 `authentication_required`
off-session. 4000 0082 6000 3178 authenticates, then declines (`insufficient_funds`).

The buyer's side of 3-D Secure: `next_action` is `redirect_to_url` (with `return_url`) or
`use_stripe_sdk`, both pointing at `GET /_fake/3ds/{intent id}` (a page with two buttons);
`POST /_fake/3ds/{intent id}/complete` or `/fail` does what the buyer's bank would.

Webhooks: every change makes an Event (`GET /v1/events`), delivered to each configured endpoint
as Stripe does: the JSON body, `Stripe-Signature: t=<unix>,v1=HMAC-SHA256(secret, "t.body")`
(`fakes.signing`), retried on a non-2xx answer or no answer after `retry_delays_s`, in the order
made. `GET /_fake/deliveries` lists every attempt; `POST /_fake/webhook_endpoints {"url",
"secret"}` adds an endpoint, `DELETE` removes them all.

stripe-mock keeps checking shapes: with `stripe_mock_url`, each `/v1` request goes to stripe-mock
first and a request stripe-mock refuses is refused the same (its 4xx body), before it takes effect
here; `/v1` paths this fake does not implement are answered by stripe-mock (its fixtures), so the
fake can stand wherever stripe-mock does. `GET /_fake/requests` lists the API requests received.

Test switches: `POST /_fake/payment_methods/{id}/card {"number"}` makes a saved card behave as
another test card from now on (a card lost or expired after it was saved); `/_fake/faults` (see
`fakes.faults`, calls named `"<METHOD> <route>"`, e.g. `"POST /v1/payment_intents"`); `POST
/_fake/reset`.

`python -m paystream.devtools.fakes.stripe --port 8008` (env `PAYSTREAM_FAKE_STRIPE_*`, see
`main`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import copy
import hashlib
import html
import os
import re
import secrets
import string
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlsplit

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from paystream.devtools.fakes import run, serving
from paystream.devtools.fakes.faults import Faults
from paystream.devtools.fakes.signing import sign_stripe_payload
from paystream.devtools.stripe_events import API_VERSION

DEFAULT_WEBHOOK_SECRET: Final = "whsec_dev_paystream"
# Real Stripe retries for three days; tests cannot wait that long.
DEFAULT_RETRY_DELAYS_S: Final = (0.2, 0.5, 1.0, 2.0, 4.0)
_ALNUM: Final = string.ascii_letters + string.digits


# --- test cards ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decline:
    code: str
    decline_code: str
    message: str


GENERIC: Final = Decline("card_declined", "generic_decline", "Your card was declined.")
INSUFFICIENT: Final = Decline(
    "card_declined", "insufficient_funds", "Your card has insufficient funds."
)
AUTH_REQUIRED: Final = Decline(
    "authentication_required",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
)

Auth = Literal["none", "unless_set_up", "always"]


@dataclass(frozen=True, slots=True)
class TestCard:
    """What Stripe's test mode does with a card number."""

    number: str
    # Refused when saved (attach, SetupIntent) and when charged.
    decline: Decline | None = None
    # Saved fine, declined when charged (4000 0000 0000 0341).
    charge_decline: Decline | None = None
    auth: Auth = "none"
    # Declined after a successful 3-D Secure (4000 0082 6000 3178).
    decline_after_auth: Decline | None = None
    funding: str = "credit"
    country: str = "US"


def _cards(*cards: TestCard) -> dict[str, TestCard]:
    return {c.number: c for c in cards}


# https://docs.stripe.com/testing: the numbers and what each one does.
TEST_CARDS: Final = _cards(
    TestCard("4242424242424242"),
    TestCard("4000056655665556", funding="debit"),
    TestCard("5555555555554444"),
    TestCard("2223003122003222"),
    TestCard("5200828282828210", funding="debit"),
    TestCard("378282246310005"),
    TestCard("6011111111111117"),
    TestCard("3056930009020004"),
    TestCard("3566002020360505", country="JP"),
    TestCard("6200000000000005", country="CN"),
    TestCard("4000000000000002", decline=GENERIC),
    TestCard("4000000000009995", decline=INSUFFICIENT),
    TestCard("4000000000009987", decline=Decline("card_declined", "lost_card", GENERIC.message)),
    TestCard("4000000000009979", decline=Decline("card_declined", "stolen_card", GENERIC.message)),
    TestCard(
        "4000000000000069",
        decline=Decline("expired_card", "expired_card", "Your card has expired."),
    ),
    TestCard(
        "4000000000000127",
        decline=Decline(
            "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."
        ),
    ),
    TestCard(
        "4000000000000119",
        decline=Decline(
            "processing_error",
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
    ),
    TestCard("4000000000000341", charge_decline=GENERIC),
    TestCard("4000002500003155", auth="unless_set_up"),
    TestCard("4000002760003184", auth="always"),
    TestCard("4000000000003220", auth="always"),
    TestCard("4000000000003063", auth="always"),
    TestCard("4000000000003055"),
    TestCard("4000008260003178", auth="always", decline_after_auth=INSUFFICIENT),
)

# Stripe's test PaymentMethod tokens: each use makes a new PaymentMethod with that card.
TEST_TOKENS: Final = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_mastercard_debit": "5200828282828210",
    "pm_card_amex": "378282246310005",
    "pm_card_discover": "6011111111111117",
    "pm_card_diners": "3056930009020004",
    "pm_card_jcb": "3566002020360505",
    "pm_card_unionpay": "6200000000000005",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_visa_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_visa_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_authenticationRequiredSetupForOffSession": "4000002500003155",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_threeDSecure2Required": "4000000000003220",
    "pm_card_threeDSecureRequired": "4000000000003063",
    "pm_card_threeDSecureOptional": "4000000000003055",
    "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds": "4000008260003178",
}


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number]
    for i in range(len(digits) - 2, -1, -2):
        digits[i] = digits[i] * 2 - 9 if digits[i] > 4 else digits[i] * 2
    return sum(digits) % 10 == 0


def card_brand(number: str) -> str:
    """The brand Stripe reports for a card number (by its issuer identification prefix)."""
    two, four = int(number[:2]), int(number[:4])
    if number.startswith("4"):
        return "visa"
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if two in (34, 37):
        return "amex"
    if number.startswith(("6011", "65")) or 644 <= int(number[:3]) <= 649:
        return "discover"
    if two in (36, 38, 39) or 300 <= int(number[:3]) <= 305:
        return "diners"
    if two == 35:
        return "jcb"
    if two == 62:
        return "unionpay"
    return "unknown"


def test_card(number: str) -> TestCard:
    """A number's behaviour: a valid number Stripe does not list behaves as 4242..."""
    return TEST_CARDS.get(number) or TestCard(number)


# --- wire format -----------------------------------------------------------------------------


class StripeError(Exception):
    """An error answer in Stripe's format. `executed=False` for a request refused before it
    ran (parameters): Stripe keeps no idempotent result for those."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        executed: bool = True,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.executed = status, executed
        self.body: dict[str, Any] = {"type": type_, "message": message}
        if code is not None:
            self.body["code"] = code
            self.body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param is not None:
            self.body["param"] = param
        self.body.update({k: v for k, v in extra.items() if v is not None})


def param_error(param: str, message: str, code: str = "parameter_invalid") -> StripeError:
    return StripeError(400, message, code=code, param=param, executed=False)


def missing(kind: str, oid: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{oid}'", code="resource_missing", param=param)


def parse_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding to nested values: `a[b][c]=v` -> {"a": {"b": {"c": v}}}, `a[0]=v`
    and `a[]=v` -> {"a": [v]}. Hand-written (25 lines) rather than a library: the PyPI parsers
    of Rails-style brackets are unmaintained, and stripe-python's own encoder has no decoder."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, bracket, rest = key.partition("[")
        parts = [head, *re.findall(r"\[([^\]]*)\]", bracket + rest)]
        node = root
        for i in range(len(parts) - 1):
            child = node.setdefault(parts[i], {})
            if not isinstance(child, dict):
                raise param_error(key, f"Invalid value for {key}: it is both a value and a hash")
            node = child
            if parts[i + 1] == "":
                parts[i + 1] = str(len(node))
        if isinstance(node.get(parts[-1]), dict):
            raise param_error(key, f"Invalid value for {key}: it is both a value and a hash")
        node[parts[-1]] = value
    out: dict[str, Any] = _listify(root)
    return out


def _listify(node: Any, key: str = "") -> Any:
    if not isinstance(node, dict):
        return node
    out = {k: _listify(v, k) for k, v in node.items()}
    if out and key != "metadata" and all(k.isdigit() for k in out):
        return [out[k] for k in sorted(out, key=int)]
    return out


def _new_id(prefix: str) -> str:
    return f"{prefix}_{''.join(secrets.choice(_ALNUM) for _ in range(24))}"


def _flag(params: dict[str, Any], name: str) -> bool:
    raw = params.get(name, "false")
    if raw not in ("true", "false", True, False):
        raise param_error(name, f"Invalid boolean: {raw}")
    return raw in ("true", True)


def _str(params: dict[str, Any], name: str) -> str | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise param_error(name, f"Invalid string: {name}")
    return raw


def _int(params: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise param_error(name, f"Missing required param: {name}.", "parameter_missing")
        return None
    if not isinstance(raw, str) or not re.fullmatch(r"-?\d+", raw):
        raise param_error(name, f"Invalid integer: {raw}", "parameter_invalid_integer")
    return int(raw)


def _metadata(current: dict[str, str], given: Any) -> dict[str, str]:
    """Stripe's metadata update: keys merge, an empty value unsets a key, `metadata=""` all."""
    if given is None:
        return current
    if given == "":
        return {}
    if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
        raise param_error("metadata", "Invalid hash: metadata")
    out = dict(current)
    for k, v in given.items():
        if v == "":
            out.pop(k, None)
        else:
            out[k] = v
    return out


def _list(data: list[dict[str, Any]], url: str, params: dict[str, Any]) -> dict[str, Any]:
    """A page of `data` (newest first) as Stripe lists it: `limit` (1..100, 10),
    `starting_after` / `ending_before`."""
    limit = _int(params, "limit") or 10
    if not 1 <= limit <= 100:
        raise param_error("limit", "limit must be between 1 and 100")
    after, before = _str(params, "starting_after"), _str(params, "ending_before")
    ids = [d["id"] for d in data]
    if after is not None:
        data = data[ids.index(after) + 1 :] if after in ids else []
    elif before is not None:
        data = data[: ids.index(before)][-limit:] if before in ids else []
    return {"object": "list", "data": data[:limit], "has_more": len(data) > limit, "url": url}


# --- the provider's state --------------------------------------------------------------------


@dataclass
class Delivery:
    event_id: str
    event_type: str
    url: str
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False
    given_up: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "event": self.event_id,
            "type": self.event_type,
            "url": self.url,
            "delivered": self.delivered,
            "given_up": self.given_up,
            "attempts": self.attempts,
        }


@dataclass
class Endpoint:
    url: str
    secret: str


@dataclass
class _Idem:
    fingerprint: tuple[str, str, bytes]
    status: int = 0
    body: bytes = b""
    done: bool = False


class FakeStripe:
    """One Stripe account in test mode. Every method runs between two awaits, so the state
    needs no lock; webhooks go out from one task in the order the events were made."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        endpoints: Iterable[Endpoint] = (),
        stripe_mock_url: str | None = None,
        retry_delays_s: tuple[float, ...] = DEFAULT_RETRY_DELAYS_S,
        webhook_timeout_s: float = 5.0,
    ) -> None:
        self.api_key = api_key
        self.endpoints = list(endpoints)
        self.stripe_mock_url = stripe_mock_url.rstrip("/") if stripe_mock_url else None
        self.retry_delays_s = retry_delays_s
        self.webhook_timeout_s = webhook_timeout_s
        self.faults = Faults()
        self._queue: asyncio.Queue[tuple[Delivery, Endpoint, bytes]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        self.reset()

    def reset(self) -> None:
        self.customers: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, dict[str, Any]] = {}
        self.setup_intents: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.deliveries: list[Delivery] = []
        self.requests: list[dict[str, Any]] = []
        # The card number behind each PaymentMethod (never shown, as at Stripe).
        self.numbers: dict[str, str] = {}
        # PaymentMethods authenticated for later off-session use (4000 0025 0000 3155).
        self.set_up_off_session: set[str] = set()
        # Where the buyer goes after 3-D Secure, per intent (not a field of Stripe's objects).
        self.return_urls: dict[str, str | None] = {}
        self.idempotency: dict[tuple[str, str], _Idem] = {}
        self._pending_events: list[dict[str, Any]] = []

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.webhook_timeout_s)
        return self._http

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- events and webhooks ------------------------------------------------------------------

    def _event(
        self,
        event_type: str,
        obj: dict[str, Any],
        previous: dict[str, Any] | None = None,
        *,
        call: Call | None = None,
    ) -> None:
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous:
            data["previous_attributes"] = previous
        event: dict[str, Any] = {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": call.api_version if call else API_VERSION,
            "created": int(time.time()),
            "data": data,
            "livemode": False,
            "pending_webhooks": len(self.endpoints),
            "request": {
                "id": call.request_id if call else None,
                "idempotency_key": call.idempotency_key if call else None,
            },
            "type": event_type,
        }
        self.events[event["id"]] = event
        self._pending_events.append(event)

    def discard_events(self) -> None:
        self._pending_events.clear()

    def flush_events(self) -> None:
        """Send the events the last call made (after it answered, as Stripe does)."""
        events, self._pending_events = self._pending_events, []
        for event in events:
            body = orjson.dumps(event, option=orjson.OPT_INDENT_2)
            for endpoint in self.endpoints:
                delivery = Delivery(event["id"], event["type"], endpoint.url)
                self.deliveries.append(delivery)
                self._enqueue(delivery, endpoint, body)

    def _enqueue(self, delivery: Delivery, endpoint: Endpoint, body: bytes) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._spawn(self._deliver_forever())
        self._queue.put_nowait((delivery, endpoint, body))

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def wrapped() -> None:
            await coro

        task = asyncio.get_running_loop().create_task(wrapped())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_forever(self) -> None:
        assert self._queue is not None
        while True:
            delivery, endpoint, body = await self._queue.get()
            if await self._attempt(delivery, endpoint, body):
                continue
            n = len(delivery.attempts)
            if n > len(self.retry_delays_s):
                delivery.given_up = True
                continue
            self._spawn(self._retry_later(self.retry_delays_s[n - 1], delivery, endpoint, body))

    async def _retry_later(
        self, delay_s: float, delivery: Delivery, endpoint: Endpoint, body: bytes
    ) -> None:
        await asyncio.sleep(delay_s)
        assert self._queue is not None
        self._queue.put_nowait((delivery, endpoint, body))

    async def _attempt(self, delivery: Delivery, endpoint: Endpoint, body: bytes) -> bool:
        # Each attempt is signed anew, with its own timestamp, as Stripe does.
        t = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": sign_stripe_payload(body, endpoint.secret, t),
        }
        attempt: dict[str, Any] = {"at": t, "status": None, "error": None}
        delivery.attempts.append(attempt)
        try:
            r = await self.http.post(endpoint.url, content=body, headers=headers)
            attempt["status"] = r.status_code
            delivery.delivered = 200 <= r.status_code < 300
        except httpx.HTTPError as exc:
            attempt["error"] = repr(exc)
        return delivery.delivered

    # --- lookups ------------------------------------------------------------------------------

    def customer(self, cid: str | None, param: str = "customer") -> dict[str, Any]:
        c = self.customers.get(cid or "")
        if c is None or c.get("deleted"):
            raise missing("customer", cid or "", param)
        return c

    def payment_method(self, pid: str | None, param: str = "payment_method") -> dict[str, Any]:
        """A PaymentMethod by id, or a new one for a test token (`pm_card_visa`)."""
        if pid in TEST_TOKENS:
            return self._new_card_pm(TEST_TOKENS[pid], {})
        pm = self.payment_methods.get(pid or "")
        if pm is None:
            raise missing("PaymentMethod", pid or "", param)
        return pm

    def card_of(self, pm: dict[str, Any]) -> TestCard:
        return test_card(self.numbers[pm["id"]])

    def _find(self, oid: str) -> dict[str, Any] | None:
        for store in (
            self.customers,
            self.payment_methods,
            self.setup_intents,
            self.payment_intents,
            self.charges,
            self.refunds,
        ):
            if oid in store:
                return store[oid]
        return None

    def expand(self, obj: dict[str, Any], paths: Any) -> dict[str, Any]:
        """`expand[]=latest_charge` etc.: ids at those (dotted) paths replaced by their objects."""
        if not paths:
            return obj
        if isinstance(paths, str):
            paths = [paths]
        out = copy.deepcopy(obj)
        for path in paths:
            node: Any = out
            keys = str(path).split(".")
            for key in keys[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict) and isinstance(node.get(keys[-1]), str):
                found = self._find(node[keys[-1]])
                if found is not None:
                    node[keys[-1]] = copy.deepcopy(found)
        return out

    # --- customers ----------------------------------------------------------------------------

    def create_customer(self, call: Call) -> dict[str, Any]:
        p = call.params
        cus: dict[str, Any] = {
            "id": _new_id("cus"),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": int(time.time()),
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": _str(p, "description"),
            "discount": None,
            "email": _str(p, "email"),
            "invoice_prefix": secrets.token_hex(4).upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": _metadata({}, p.get("metadata")),
            "name": _str(p, "name"),
            "next_invoice_sequence": 1,
            "phone": _str(p, "phone"),
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
        self.customers[cus["id"]] = cus
        self._event("customer.created", cus, call=call)
        pm_id = _str(p, "payment_method")
        if pm_id is not None:
            self._attach(self.payment_method(pm_id), cus, call)
        default = (p.get("invoice_settings") or {}).get("default_payment_method")
        if default:
            cus["invoice_settings"]["default_payment_method"] = self._own_pm(cus, default).get("id")
        return cus

    def update_customer(self, call: Call) -> dict[str, Any]:
        cus = self.customer(call.path_params["id"], "id")
        p = call.params
        before = copy.deepcopy(cus)
        for name in ("email", "name", "description", "phone"):
            if name in p:
                cus[name] = _str(p, name)
        cus["metadata"] = _metadata(cus["metadata"], p.get("metadata"))
        settings = p.get("invoice_settings")
        if isinstance(settings, dict) and "default_payment_method" in settings:
            pm_id = settings["default_payment_method"]
            cus["invoice_settings"]["default_payment_method"] = (
                self._own_pm(cus, pm_id)["id"] if pm_id else None
            )
        previous = _changed(before, cus)
        if previous:
            self._event("customer.updated", cus, previous, call=call)
        return cus

    def _own_pm(self, cus: dict[str, Any], pm_id: Any) -> dict[str, Any]:
        pm = self.payment_methods.get(str(pm_id))
        if pm is None or pm["customer"] != cus["id"]:
            raise StripeError(
                400,
                f"No such PaymentMethod: '{pm_id}'; It's possible this PaymentMethod exists on "
                "one of your connected accounts, in which case you should retry this request on "
                "that connected account.",
                code="resource_missing",
                param="invoice_settings[default_payment_method]",
            )
        return pm

    def delete_customer(self, call: Call) -> dict[str, Any]:
        cus = self.customer(call.path_params["id"], "id")
        for pm in self.payment_methods.values():
            if pm["customer"] == cus["id"]:
                pm["customer"] = None
        cus["deleted"] = True
        self._event("customer.deleted", cus, call=call)
        return {"id": cus["id"], "object": "customer", "deleted": True}

    def retrieve_customer(self, call: Call) -> dict[str, Any]:
        cus = self.customers.get(call.path_params["id"])
        if cus is None:
            raise missing("customer", call.path_params["id"])
        if cus.get("deleted"):
            return {"id": cus["id"], "object": "customer", "deleted": True}
        return cus

    def customer_payment_methods(self, call: Call) -> dict[str, Any]:
        cus = self.customer(call.path_params["id"], "customer")
        return self._pm_list(cus["id"], call, f"/v1/customers/{cus['id']}/payment_methods")

    # --- payment methods ----------------------------------------------------------------------

    def _new_card_pm(self, number: str, p: dict[str, Any]) -> dict[str, Any]:
        card = p.get("card") if isinstance(p.get("card"), dict) else {}
        assert isinstance(card, dict)
        now = datetime.now(UTC)
        exp_month = _int(card, "exp_month") or 12
        exp_year = _int(card, "exp_year") or now.year + 3
        if not 1 <= exp_month <= 12:
            raise StripeError(
                402,
                "Your card's expiration month is invalid.",
                type_="card_error",
                code="invalid_expiry_month",
                param="exp_month",
            )
        if exp_year < 100:
            exp_year += 2000
        if (exp_year, exp_month) < (now.year, now.month):
            raise StripeError(
                402,
                "Your card's expiration year is invalid.",
                type_="card_error",
                code="invalid_expiry_year",
                param="exp_year",
            )
        brand = card_brand(number)
        billing = p.get("billing_details") if isinstance(p.get("billing_details"), dict) else {}
        assert isinstance(billing, dict)
        address = billing.get("address") if isinstance(billing.get("address"), dict) else {}
        assert isinstance(address, dict)
        cvc = card.get("cvc")
        pm: dict[str, Any] = {
            "id": _new_id("pm"),
            "object": "payment_method",
            "allow_redisplay": _str(p, "allow_redisplay") or "unspecified",
            "billing_details": {
                "address": {
                    k: address.get(k)
                    for k in ("city", "country", "line1", "line2", "postal_code", "state")
                },
                "email": billing.get("email"),
                "name": billing.get("name"),
                "phone": billing.get("phone"),
                "tax_id": None,
            },
            "card": {
                "brand": brand,
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": None,
                    "cvc_check": "pass" if cvc else None,
                },
                "country": test_card(number).country,
                "display_brand": brand,
                "exp_month": exp_month,
                "exp_year": exp_year,
                "fingerprint": hashlib.sha256(number.encode()).hexdigest()[:16],
                "funding": test_card(number).funding,
                "generated_from": None,
                "last4": number[-4:],
                "networks": {"available": [brand], "preferred": None},
                "regulated_status": "unregulated",
                "three_d_secure_usage": {"supported": True},
                "wallet": None,
            },
            "created": int(time.time()),
            "customer": None,
            "livemode": False,
            "metadata": _metadata({}, p.get("metadata")),
            "type": "card",
        }
        self.payment_methods[pm["id"]] = pm
        self.numbers[pm["id"]] = number
        return pm

    def create_payment_method(self, call: Call) -> dict[str, Any]:
        p = call.params
        if _str(p, "type") != "card":
            raise param_error(
                "type", "This fake makes PaymentMethods of type `card` only.", "parameter_missing"
            )
        card = p.get("card")
        if not isinstance(card, dict):
            raise param_error("card", "Missing required param: card.", "parameter_missing")
        token = card.get("token")
        if isinstance(token, str) and token.startswith("tok_"):
            name = "pm_card_" + token.removeprefix("tok_")
            if name not in TEST_TOKENS:
                raise missing("token", token, "card[token]")
            return self._new_card_pm(TEST_TOKENS[name], p)
        for name in ("number", "exp_month", "exp_year"):
            if not card.get(name):
                raise param_error(
                    f"card[{name}]", f"Missing required param: card[{name}].", "parameter_missing"
                )
        number = re.sub(r"[\s-]", "", str(card["number"]))
        if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_ok(number):
            raise StripeError(
                402,
                "Your card number is incorrect.",
                type_="card_error",
                code="incorrect_number",
                param="number",
            )
        return self._new_card_pm(number, p)

    def retrieve_payment_method(self, call: Call) -> dict[str, Any]:
        return self.payment_method(call.path_params["id"], "payment_method")

    def update_payment_method(self, call: Call) -> dict[str, Any]:
        pm = self.payment_method(call.path_params["id"], "payment_method")
        p = call.params
        before = copy.deepcopy(pm)
        pm["metadata"] = _metadata(pm["metadata"], p.get("metadata"))
        card = p.get("card")
        if isinstance(card, dict):
            for name in ("exp_month", "exp_year"):
                value = _int(card, name)
                if value is not None:
                    pm["card"][name] = value
        billing = p.get("billing_details")
        if isinstance(billing, dict):
            for name in ("email", "name", "phone"):
                if name in billing:
                    pm["billing_details"][name] = billing[name] or None
        previous = _changed(before, pm)
        if previous:
            self._event("payment_method.updated", pm, previous, call=call)
        return pm

    def attach_payment_method(self, call: Call) -> dict[str, Any]:
        pm = self.payment_method(call.path_params["id"], "payment_method")
        cus = self.customer(_str(call.params, "customer"))
        return self._attach(pm, cus, call)

    def _attach(self, pm: dict[str, Any], cus: dict[str, Any], call: Call | None) -> dict[str, Any]:
        if pm["customer"] == cus["id"]:
            return pm
        if pm["customer"] is not None:
            raise StripeError(
                400,
                "The payment method you provided has already been attached to a customer.",
                code="resource_already_exists",
                param="payment_method",
            )
        decline = self.card_of(pm).decline
        if decline is not None:
            raise _card_error(decline, payment_method=pm)
        pm["customer"] = cus["id"]
        self._event("payment_method.attached", pm, call=call)
        return pm

    def detach_payment_method(self, call: Call) -> dict[str, Any]:
        pm = self.payment_method(call.path_params["id"], "payment_method")
        owner = pm["customer"]
        if owner is None:
            raise StripeError(
                400,
                "The payment method you provided is not attached to a customer so detachment "
                "is impossible.",
                code="payment_method_unexpected_state",
            )
        pm["customer"] = None
        self.set_up_off_session.discard(pm["id"])
        self._event("payment_method.detached", pm, {"customer": owner}, call=call)
        cus = self.customers.get(owner)
        if cus is not None and cus["invoice_settings"]["default_payment_method"] == pm["id"]:
            # Stripe clears a default that no longer belongs to the customer.
            cus["invoice_settings"]["default_payment_method"] = None
            previous = {"invoice_settings": {"default_payment_method": pm["id"]}}
            self._event("customer.updated", cus, previous, call=call)
        return pm

    def list_payment_methods(self, call: Call) -> dict[str, Any]:
        customer = _str(call.params, "customer")
        if customer is not None:
            self.customer(customer)
        return self._pm_list(customer, call, "/v1/payment_methods")

    def _pm_list(self, customer: str | None, call: Call, url: str) -> dict[str, Any]:
        kind = _str(call.params, "type")
        data = [
            pm
            for pm in reversed(self.payment_methods.values())
            if pm["customer"] is not None
            and (customer is None or pm["customer"] == customer)
            and kind in (None, pm["type"])
        ]
        return _list(data, url, call.params)

    # --- setup intents ------------------------------------------------------------------------

    def create_setup_intent(self, call: Call) -> dict[str, Any]:
        p = call.params
        customer = _str(p, "customer")
        if customer is not None:
            self.customer(customer)
        usage = _str(p, "usage") or "off_session"
        if usage not in ("off_session", "on_session"):
            raise param_error("usage", "Invalid usage: must be one of off_session, on_session")
        pm_id = _str(p, "payment_method")
        sid = _new_id("seti")
        seti: dict[str, Any] = {
            "id": sid,
            "object": "setup_intent",
            "application": None,
            "automatic_payment_methods": p.get("automatic_payment_methods"),
            "cancellation_reason": None,
            "client_secret": f"{sid}_secret_{secrets.token_urlsafe(18)}",
            "created": int(time.time()),
            "customer": customer,
            "description": _str(p, "description"),
            "flow_directions": None,
            "last_setup_error": None,
            "latest_attempt": None,
            "livemode": False,
            "mandate": None,
            "metadata": _metadata({}, p.get("metadata")),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": self.payment_method(pm_id)["id"] if pm_id else None,
            "payment_method_configuration_details": None,
            "payment_method_options": {
                "card": {
                    "mandate_options": None,
                    "network": None,
                    "request_three_d_secure": "automatic",
                }
            },
            "payment_method_types": p.get("payment_method_types") or ["card"],
            "single_use_mandate": None,
            "status": "requires_confirmation" if pm_id else "requires_payment_method",
            "usage": usage,
        }
        self.setup_intents[sid] = seti
        self._event("setup_intent.created", seti, call=call)
        if _flag(p, "confirm"):
            self._confirm_setup(seti, call)
        return seti

    def retrieve_setup_intent(self, call: Call) -> dict[str, Any]:
        seti = self.setup_intents.get(call.path_params["id"])
        if seti is None:
            raise missing("setup_intent", call.path_params["id"])
        return seti

    def confirm_setup_intent(self, call: Call) -> dict[str, Any]:
        seti = self.retrieve_setup_intent(call)
        pm_id = _str(call.params, "payment_method")
        if pm_id is not None:
            seti["payment_method"] = self.payment_method(pm_id)["id"]
        return self._confirm_setup(seti, call)

    def _confirm_setup(self, seti: dict[str, Any], call: Call) -> dict[str, Any]:
        if seti["status"] not in ("requires_payment_method", "requires_confirmation"):
            raise _unexpected_state("SetupIntent", seti, "confirm", setup_intent=seti)
        if seti["payment_method"] is None:
            raise StripeError(
                400,
                "You cannot confirm this SetupIntent because it's missing a payment method. "
                "Update the SetupIntent with a payment method and then confirm it again.",
                code="setup_intent_unexpected_state",
                setup_intent=seti,
            )
        self.return_urls[seti["id"]] = _str(call.params, "return_url")
        pm = self.payment_methods[seti["payment_method"]]
        card = self.card_of(pm)
        seti["latest_attempt"] = _new_id("setatt")
        seti["last_setup_error"] = None
        if card.decline is not None:
            error = _card_error(card.decline, payment_method=pm)
            seti["status"] = "requires_payment_method"
            seti["last_setup_error"] = copy.deepcopy(error.body)
            error.body["setup_intent"] = copy.deepcopy(seti)
            self._event("setup_intent.setup_failed", seti, call=call)
            raise error
        if card.auth != "none":
            seti["status"] = "requires_action"
            seti["next_action"] = _next_action(
                call.base_url, seti["id"], self.return_urls[seti["id"]]
            )
            self._event("setup_intent.requires_action", seti, call=call)
            return seti
        return self._setup_succeeded(seti, call)

    def _setup_succeeded(self, seti: dict[str, Any], call: Call | None) -> dict[str, Any]:
        pm = self.payment_methods[seti["payment_method"]]
        seti["status"], seti["next_action"] = "succeeded", None
        if seti["customer"] is not None:
            self._attach(pm, self.customers[seti["customer"]], call)
        if seti["usage"] == "off_session":
            self.set_up_off_session.add(pm["id"])
        self._event("setup_intent.succeeded", seti, call=call)
        return seti

    def list_setup_intents(self, call: Call) -> dict[str, Any]:
        customer = _str(call.params, "customer")
        data = _of_customer(self.setup_intents, customer)
        pm = _str(call.params, "payment_method")
        if pm is not None:
            data = [d for d in data if d["payment_method"] == pm]
        return _list(data, "/v1/setup_intents", call.params)

    def cancel_setup_intent(self, call: Call) -> dict[str, Any]:
        seti = self.retrieve_setup_intent(call)
        if seti["status"] in ("succeeded", "canceled"):
            raise _unexpected_state("SetupIntent", seti, "cancel", setup_intent=seti)
        seti["status"] = "canceled"
        seti["next_action"] = None
        seti["cancellation_reason"] = _str(call.params, "cancellation_reason")
        self._event("setup_intent.canceled", seti, call=call)
        return seti

    # --- payment intents ----------------------------------------------------------------------

    def create_payment_intent(self, call: Call) -> dict[str, Any]:
        p = call.params
        amount = _int(p, "amount", required=True)
        assert amount is not None
        if amount < 1:
            raise param_error("amount", "This value must be greater than or equal to 1.")
        currency = _str(p, "currency")
        if currency is None or not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise param_error("currency", "Missing required param: currency.", "parameter_missing")
        customer = _str(p, "customer")
        if customer is not None:
            self.customer(customer)
        confirm = _flag(p, "confirm")
        if "off_session" in p and not confirm:
            raise param_error(
                "off_session", "You can only pass in off_session when confirm is set to true."
            )
        sfu = _str(p, "setup_future_usage")
        if sfu not in (None, "on_session", "off_session"):
            raise param_error("setup_future_usage", f"Invalid setup_future_usage: {sfu}")
        pm_id = _str(p, "payment_method")
        pm = self.payment_method(pm_id) if pm_id else None
        if pm is not None:
            self._check_pm_customer(pm, customer)
        iid = _new_id("pi")
        pi: dict[str, Any] = {
            "id": iid,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": p.get("automatic_payment_methods"),
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": _str(p, "capture_method") or "automatic",
            "client_secret": f"{iid}_secret_{secrets.token_urlsafe(18)}",
            "confirmation_method": _str(p, "confirmation_method") or "automatic",
            "created": int(time.time()),
            "currency": currency.lower(),
            "customer": customer,
            "description": _str(p, "description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": _metadata({}, p.get("metadata")),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": pm["id"] if pm else None,
            "payment_method_configuration_details": None,
            "payment_method_options": {
                "card": {
                    "installments": None,
                    "mandate_options": None,
                    "network": None,
                    "request_three_d_secure": "automatic",
                }
            },
            "payment_method_types": p.get("payment_method_types") or ["card"],
            "processing": None,
            "receipt_email": _str(p, "receipt_email"),
            "review": None,
            "setup_future_usage": sfu,
            "shipping": None,
            "statement_descriptor": _str(p, "statement_descriptor"),
            "statement_descriptor_suffix": _str(p, "statement_descriptor_suffix"),
            "status": "requires_confirmation" if pm else "requires_payment_method",
            "transfer_data": None,
            "transfer_group": None,
        }
        self.payment_intents[iid] = pi
        self._event("payment_intent.created", pi, call=call)
        if confirm:
            self._confirm_payment(pi, call)
        return pi

    def list_payment_intents(self, call: Call) -> dict[str, Any]:
        return _list(
            _of_customer(self.payment_intents, _str(call.params, "customer")),
            "/v1/payment_intents",
            call.params,
        )

    def _check_pm_customer(self, pm: dict[str, Any], customer: str | None) -> None:
        if pm["customer"] is not None and pm["customer"] != customer:
            if customer is None:
                raise StripeError(
                    400,
                    f"The provided PaymentMethod {pm['id']} is attached to a Customer; you must "
                    "also provide that Customer's id in `customer`.",
                    code="parameter_missing",
                    param="customer",
                )
            raise StripeError(
                400,
                f"The provided PaymentMethod {pm['id']} does not belong to the Customer "
                f"{customer}. Please use a PaymentMethod that belongs to this Customer.",
                code="payment_method_invalid_parameter",
                param="payment_method",
            )

    def retrieve_payment_intent(self, call: Call) -> dict[str, Any]:
        pi = self.payment_intents.get(call.path_params["id"])
        if pi is None:
            raise missing("payment_intent", call.path_params["id"])
        return pi

    def update_payment_intent(self, call: Call) -> dict[str, Any]:
        pi = self.retrieve_payment_intent(call)
        p = call.params
        if pi["status"] in ("succeeded", "canceled", "processing"):
            raise _unexpected_state("PaymentIntent", pi, "update", payment_intent=pi)
        before = copy.deepcopy(pi)
        pi["metadata"] = _metadata(pi["metadata"], p.get("metadata"))
        amount = _int(p, "amount")
        if amount is not None:
            pi["amount"] = amount
        for name in ("description", "receipt_email", "setup_future_usage"):
            if name in p:
                pi[name] = _str(p, name)
        pm_id = _str(p, "payment_method")
        if pm_id is not None:
            pm = self.payment_method(pm_id)
            self._check_pm_customer(pm, pi["customer"])
            pi["payment_method"] = pm["id"]
            pi["status"] = "requires_confirmation"
        previous = _changed(before, pi)
        if previous:
            self._event("payment_intent.updated", pi, previous, call=call)
        return pi

    def confirm_payment_intent(self, call: Call) -> dict[str, Any]:
        pi = self.retrieve_payment_intent(call)
        pm_id = _str(call.params, "payment_method")
        if pm_id is not None and pi["status"] in (
            "requires_payment_method",
            "requires_confirmation",
        ):
            pm = self.payment_method(pm_id)
            self._check_pm_customer(pm, pi["customer"])
            pi["payment_method"] = pm["id"]
        sfu = _str(call.params, "setup_future_usage")
        if sfu is not None:
            pi["setup_future_usage"] = sfu
        return self._confirm_payment(pi, call)

    def _confirm_payment(self, pi: dict[str, Any], call: Call) -> dict[str, Any]:
        if pi["status"] not in ("requires_payment_method", "requires_confirmation"):
            raise _unexpected_state("PaymentIntent", pi, "confirm", payment_intent=pi)
        if pi["payment_method"] is None:
            raise StripeError(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method. "
                "Provide a payment_method to confirm it.",
                code="payment_intent_unexpected_state",
                payment_intent=pi,
            )
        off_session = _flag(call.params, "off_session")
        self.return_urls[pi["id"]] = _str(call.params, "return_url")
        pm = self.payment_methods[pi["payment_method"]]
        card = self.card_of(pm)
        needs_auth = card.auth == "always" or (
            card.auth == "unless_set_up"
            and not (off_session and pm["id"] in self.set_up_off_session)
        )
        if card.decline is not None or card.charge_decline is not None:
            decline = card.decline or card.charge_decline
            assert decline is not None
            raise self._payment_failed(pi, pm, decline, call)
        if needs_auth and (off_session or _flag(call.params, "error_on_requires_action")):
            raise self._payment_failed(pi, pm, AUTH_REQUIRED, call)
        if needs_auth:
            pi["status"] = "requires_action"
            pi["next_action"] = _next_action(call.base_url, pi["id"], self.return_urls[pi["id"]])
            pi["last_payment_error"] = None
            self._event("payment_intent.requires_action", pi, call=call)
            return pi
        return self._payment_succeeded(pi, pm, call)

    def _charge(
        self, pi: dict[str, Any], pm: dict[str, Any], decline: Decline | None
    ) -> dict[str, Any]:
        cid = _new_id("ch")
        ok = decline is None
        charge: dict[str, Any] = {
            "id": cid,
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": pi["amount"] if ok else 0,
            "amount_refunded": 0,
            "balance_transaction": _new_id("txn") if ok else None,
            "billing_details": pm["billing_details"],
            "captured": ok,
            "created": int(time.time()),
            "currency": pi["currency"],
            "customer": pi["customer"],
            "description": pi["description"],
            "disputed": False,
            "failure_code": decline.code if decline else None,
            "failure_message": decline.message if decline else None,
            "livemode": False,
            "metadata": dict(pi["metadata"]),
            "outcome": {
                "network_status": "approved_by_network" if ok else "declined_by_network",
                "reason": decline.decline_code if decline else None,
                "risk_level": "normal",
                "seller_message": "Payment complete."
                if ok
                else "The bank did not return any further details with this decline.",
                "type": "authorized" if ok else "issuer_declined",
            },
            "paid": ok,
            "payment_intent": pi["id"],
            "payment_method": pm["id"],
            "payment_method_details": {
                "card": {
                    k: pm["card"][k]
                    for k in (
                        "brand",
                        "country",
                        "exp_month",
                        "exp_year",
                        "fingerprint",
                        "funding",
                        "last4",
                    )
                },
                "type": "card",
            },
            "receipt_email": pi["receipt_email"],
            "receipt_url": None,
            "refunded": False,
            "status": "succeeded" if ok else "failed",
        }
        self.charges[cid] = charge
        pi["latest_charge"] = cid
        return charge

    def _payment_failed(
        self, pi: dict[str, Any], pm: dict[str, Any], decline: Decline, call: Call | None
    ) -> StripeError:
        charge = self._charge(pi, pm, decline)
        error = _card_error(decline, payment_method=pm, charge=charge["id"])
        pi["status"], pi["next_action"] = "requires_payment_method", None
        pi["last_payment_error"] = copy.deepcopy(error.body)
        error.body["payment_intent"] = copy.deepcopy(pi)
        self._event("charge.failed", charge, call=call)
        self._event("payment_intent.payment_failed", pi, call=call)
        return error

    def _payment_succeeded(
        self, pi: dict[str, Any], pm: dict[str, Any], call: Call | None
    ) -> dict[str, Any]:
        charge = self._charge(pi, pm, None)
        pi["status"], pi["next_action"], pi["last_payment_error"] = "succeeded", None, None
        pi["amount_received"] = pi["amount"]
        if pi["setup_future_usage"] and pi["customer"] is not None and pm["customer"] is None:
            pm["customer"] = pi["customer"]
            self._event("payment_method.attached", pm, call=call)
        if pi["setup_future_usage"] == "off_session" and pm["customer"] == pi["customer"]:
            self.set_up_off_session.add(pm["id"])
        self._event("charge.succeeded", charge, call=call)
        self._event("payment_intent.succeeded", pi, call=call)
        return pi

    def cancel_payment_intent(self, call: Call) -> dict[str, Any]:
        pi = self.retrieve_payment_intent(call)
        if pi["status"] in ("succeeded", "canceled", "processing"):
            raise _unexpected_state("PaymentIntent", pi, "cancel", payment_intent=pi)
        reason = _str(call.params, "cancellation_reason")
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer", "abandoned"):
            raise param_error("cancellation_reason", f"Invalid cancellation_reason: {reason}")
        pi["status"], pi["next_action"] = "canceled", None
        pi["canceled_at"], pi["cancellation_reason"] = int(time.time()), reason
        self._event("payment_intent.canceled", pi, call=call)
        return pi

    # --- 3-D Secure, as the buyer -------------------------------------------------------------

    def authenticate(self, intent_id: str, *, ok: bool) -> dict[str, Any]:
        """The buyer completes (or fails) the 3-D Secure challenge of an intent."""
        intent = self.payment_intents.get(intent_id) or self.setup_intents.get(intent_id)
        if intent is None:
            raise missing("intent", intent_id)
        if intent["status"] != "requires_action":
            raise _unexpected_state("intent", intent, "authenticate")
        pm = self.payment_methods[intent["payment_method"]]
        is_payment = intent["object"] == "payment_intent"
        if not ok:
            error = StripeError(
                400,
                "The provided PaymentMethod has failed authentication. You can provide "
                "payment_method_data or a new PaymentMethod to attempt to fulfill this "
                f"{'PaymentIntent' if is_payment else 'SetupIntent'} again.",
                code=f"{'payment_intent' if is_payment else 'setup_intent'}_authentication_failure",
                payment_method=pm,
            )
            intent["status"], intent["next_action"] = "requires_payment_method", None
            key = "last_payment_error" if is_payment else "last_setup_error"
            intent[key] = error.body
            self._event(
                "payment_intent.payment_failed" if is_payment else "setup_intent.setup_failed",
                intent,
            )
            return intent
        if not is_payment:
            return self._setup_succeeded(intent, None)
        card = self.card_of(pm)
        if card.decline_after_auth is not None:
            self._payment_failed(intent, pm, card.decline_after_auth, None)
            return intent
        # An authenticated payment that saves the card sets it up for off-session use.
        return self._payment_succeeded(intent, pm, None)

    # --- charges, refunds, events -------------------------------------------------------------

    def retrieve_charge(self, call: Call) -> dict[str, Any]:
        charge = self.charges.get(call.path_params["id"])
        if charge is None:
            raise missing("charge", call.path_params["id"])
        return charge

    def create_refund(self, call: Call) -> dict[str, Any]:
        p = call.params
        pi_id, ch_id = _str(p, "payment_intent"), _str(p, "charge")
        if pi_id is None and ch_id is None:
            raise param_error(
                "charge",
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                "parameter_missing",
            )
        if pi_id is not None:
            pi = self.payment_intents.get(pi_id)
            if pi is None:
                raise missing("payment_intent", pi_id, "payment_intent")
            if pi["status"] != "succeeded":
                raise StripeError(
                    400,
                    f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
            ch_id = pi["latest_charge"]
        charge = self.charges.get(ch_id or "")
        if charge is None:
            raise missing("charge", ch_id or "", "charge")
        left = charge["amount_captured"] - charge["amount_refunded"]
        if left <= 0:
            raise StripeError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = _int(p, "amount")
        amount = left if amount is None else amount
        if not 1 <= amount <= left:
            raise StripeError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                code="amount_too_large",
                param="amount",
            )
        reason = _str(p, "reason")
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise param_error("reason", f"Invalid reason: {reason}")
        refund: dict[str, Any] = {
            "id": _new_id("re"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": _new_id("txn"),
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "destination_details": {"card": {"type": "refund"}, "type": "card"},
            "metadata": _metadata({}, p.get("metadata")),
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        self._event("refund.created", refund, call=call)
        self._event(
            "charge.refunded",
            charge,
            {"amount_refunded": charge["amount_refunded"] - amount},
            call=call,
        )
        return refund

    def retrieve_refund(self, call: Call) -> dict[str, Any]:
        refund = self.refunds.get(call.path_params["id"])
        if refund is None:
            raise missing("refund", call.path_params["id"])
        return refund

    def list_events(self, call: Call) -> dict[str, Any]:
        kind = _str(call.params, "type")
        data = [
            e
            for e in reversed(self.events.values())
            if kind is None
            or e["type"] == kind
            or (kind.endswith(".*") and e["type"].startswith(kind[:-1]))
        ]
        return _list(data, "/v1/events", call.params)

    def retrieve_event(self, call: Call) -> dict[str, Any]:
        event = self.events.get(call.path_params["id"])
        if event is None:
            raise missing("event", call.path_params["id"])
        return event


# --- helpers for the objects -----------------------------------------------------------------


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Stripe's `previous_attributes`: the old values of what changed (nested hashes by key)."""
    out: dict[str, Any] = {}
    for key, old in before.items():
        new = after.get(key)
        if isinstance(old, dict) and isinstance(new, dict) and key != "metadata":
            sub = _changed(old, new)
            if sub:
                out[key] = sub
        elif old != new:
            out[key] = old
    return out


def _of_customer(store: dict[str, dict[str, Any]], customer: str | None) -> list[dict[str, Any]]:
    """A store's objects, newest first, of one customer (all with None)."""
    return [o for o in reversed(store.values()) if customer in (None, o["customer"])]


def _card_error(decline: Decline, **extra: Any) -> StripeError:
    return StripeError(
        402,
        decline.message,
        type_="card_error",
        code=decline.code,
        decline_code=decline.decline_code,
        **extra,
    )


def _unexpected_state(kind: str, obj: dict[str, Any], verb: str, **extra: Any) -> StripeError:
    code = {"PaymentIntent": "payment_intent", "SetupIntent": "setup_intent"}.get(kind, "intent")
    return StripeError(
        400,
        f"You cannot {verb} this {kind} because it has a status of {obj['status']}.",
        code=f"{code}_unexpected_state",
        **extra,
    )


def _next_action(base_url: str, intent_id: str, return_url: str | None) -> dict[str, Any]:
    url = f"{base_url}/_fake/3ds/{intent_id}"
    if return_url:
        return {
            "type": "redirect_to_url",
            "redirect_to_url": {"url": url, "return_url": return_url},
        }
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {
            "type": "three_d_secure_redirect",
            "stripe_js": url,
            "source": _new_id("src"),
        },
    }


# --- HTTP ------------------------------------------------------------------------------------


@dataclass
class Call:
    """One API request as the handlers see it."""

    method: str
    path: str
    params: dict[str, Any]
    path_params: dict[str, str]
    api_key: str
    base_url: str
    request_id: str
    idempotency_key: str | None
    api_version: str


Handler = Callable[[Call], dict[str, Any]]

# (method, path, handler name, publishable key allowed). Stripe.js makes PaymentMethods and
# reads and confirms intents with the publishable key and the intent's client_secret.
ROUTES: Final[tuple[tuple[str, str, str, bool], ...]] = (
    ("POST", "/v1/customers", "create_customer", False),
    ("GET", "/v1/customers/{id}", "retrieve_customer", False),
    ("POST", "/v1/customers/{id}", "update_customer", False),
    ("DELETE", "/v1/customers/{id}", "delete_customer", False),
    ("GET", "/v1/customers/{id}/payment_methods", "customer_payment_methods", False),
    ("POST", "/v1/payment_methods", "create_payment_method", True),
    ("GET", "/v1/payment_methods", "list_payment_methods", False),
    ("GET", "/v1/payment_methods/{id}", "retrieve_payment_method", False),
    ("POST", "/v1/payment_methods/{id}", "update_payment_method", False),
    ("POST", "/v1/payment_methods/{id}/attach", "attach_payment_method", False),
    ("POST", "/v1/payment_methods/{id}/detach", "detach_payment_method", False),
    ("POST", "/v1/setup_intents", "create_setup_intent", False),
    ("GET", "/v1/setup_intents", "list_setup_intents", False),
    ("GET", "/v1/setup_intents/{id}", "retrieve_setup_intent", True),
    ("POST", "/v1/setup_intents/{id}/confirm", "confirm_setup_intent", True),
    ("POST", "/v1/setup_intents/{id}/cancel", "cancel_setup_intent", False),
    ("POST", "/v1/payment_intents", "create_payment_intent", False),
    ("GET", "/v1/payment_intents", "list_payment_intents", False),
    ("GET", "/v1/payment_intents/{id}", "retrieve_payment_intent", True),
    ("POST", "/v1/payment_intents/{id}", "update_payment_intent", False),
    ("POST", "/v1/payment_intents/{id}/confirm", "confirm_payment_intent", True),
    ("POST", "/v1/payment_intents/{id}/cancel", "cancel_payment_intent", False),
    ("GET", "/v1/charges/{id}", "retrieve_charge", False),
    ("POST", "/v1/refunds", "create_refund", False),
    ("GET", "/v1/refunds/{id}", "retrieve_refund", False),
    ("GET", "/v1/events", "list_events", False),
    ("GET", "/v1/events/{id}", "retrieve_event", False),
)


def _error_response(error: StripeError, request_id: str) -> JSONResponse:
    return JSONResponse(
        {"error": error.body}, status_code=error.status, headers={"Request-Id": request_id}
    )


def _api_key(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        with contextlib.suppress(ValueError):
            return base64.b64decode(value).decode().partition(":")[0]
    return ""


def create_app(fake: FakeStripe) -> Starlette:
    async def api(request: Request, spec: tuple[str, str, str, bool]) -> Response:
        method, template, name, publishable_ok = spec
        request_id = _new_id("req")
        key = _api_key(request)
        if not key:
            return _error_response(
                StripeError(
                    401,
                    "You did not provide an API key. You need to provide your API key in the "
                    "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                    "YOUR_SECRET_KEY').",
                ),
                request_id,
            )
        publishable = key.startswith("pk_test_")
        if (fake.api_key is not None and key != fake.api_key and not publishable) or not (
            key.startswith(("sk_test_", "rk_test_")) or publishable
        ):
            return _error_response(
                StripeError(401, f"Invalid API Key provided: {key[:8]}{'*' * 8}{key[-4:]}"),
                request_id,
            )
        body = await request.body()
        pairs = parse_qsl(request.url.query, keep_blank_values=True)
        if method == "POST":
            pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        try:
            params = parse_params(pairs)
        except StripeError as exc:
            return _error_response(exc, request_id)
        path = request.url.path
        fake.requests.append(
            {
                "method": method,
                "path": path,
                "body": body.decode("utf-8", "replace"),
                "params": params,
            }
        )
        if publishable and (
            not publishable_ok
            or (
                "{id}" in template
                and params.get("client_secret") != _client_secret(fake, request.path_params["id"])
            )
        ):
            return _error_response(
                StripeError(
                    401,
                    "This API call cannot be made with a publishable API key. Please use a "
                    "secret API key. You can find a list of your API keys at "
                    "https://dashboard.stripe.com/account/apikeys.",
                ),
                request_id,
            )
        idem_key = request.headers.get("idempotency-key") if method == "POST" else None
        fingerprint = (method, path, orjson.dumps(params, option=orjson.OPT_SORT_KEYS))
        slot: tuple[str, str] | None = (key, idem_key) if idem_key else None
        if slot is not None and slot in fake.idempotency:
            seen = fake.idempotency[slot]
            if seen.fingerprint != fingerprint:
                return _error_response(
                    StripeError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than "
                        f"'{idem_key}' if you meant to execute a different request.",
                        type_="idempotency_error",
                    ),
                    request_id,
                )
            if not seen.done:
                return _error_response(
                    StripeError(
                        409,
                        "There is currently another in-progress request using this Stripe "
                        "Idempotency-Key. Please try again later.",
                        type_="idempotency_error",
                        code="idempotency_key_in_use",
                    ),
                    request_id,
                )
            return Response(
                seen.body,
                status_code=seen.status,
                media_type="application/json",
                headers={
                    "Request-Id": request_id,
                    "Idempotent-Replayed": "true",
                    "Idempotency-Key": idem_key or "",
                },
            )
        if slot is not None:
            fake.idempotency[slot] = _Idem(fingerprint)
        # stripe-mock first: a request it refuses (a parameter Stripe does not take, a wrong
        # type) is refused here too, before it changes anything.
        refused = await _stripe_mock_refusal(fake, request, body)
        if refused is not None:
            if slot is not None:
                del fake.idempotency[slot]
            return refused
        call = Call(
            method=method,
            path=path,
            params=params,
            path_params=dict(request.path_params),
            api_key=key,
            base_url=str(request.base_url).rstrip("/"),
            request_id=request_id,
            idempotency_key=idem_key,
            api_version=request.headers.get("stripe-version") or API_VERSION,
        )
        handler: Handler = getattr(fake, name)
        try:
            result = handler(call)
            status, payload = 200, fake.expand(result, params.get("expand"))
            executed = True
        except StripeError as exc:
            status, payload, executed = exc.status, {"error": exc.body}, exc.executed
            if not executed:
                fake.discard_events()
        except Exception:
            # A bug in the fake: no half-made events, no idempotent result kept.
            fake.discard_events()
            if slot is not None:
                del fake.idempotency[slot]
            raise
        content = orjson.dumps(payload)
        if slot is not None:
            if executed:
                done = fake.idempotency[slot]
                done.status, done.body, done.done = status, content, True
            else:
                fake.idempotency.pop(slot, None)
        fake.flush_events()
        headers = {"Request-Id": request_id, "Stripe-Version": call.api_version}
        if idem_key:
            headers["Idempotency-Key"] = idem_key
        response = Response(
            content, status_code=status, media_type="application/json", headers=headers
        )
        return await fake.faults.answer(f"{method} {template}", response)

    async def unknown(request: Request) -> Response:
        if fake.stripe_mock_url is not None:
            return await _proxy(fake, request, await request.body())
        return _error_response(
            StripeError(
                404,
                f"Unrecognized request URL ({request.method}: {request.url.path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            ),
            _new_id("req"),
        )

    async def challenge_page(request: Request) -> Response:
        iid = request.path_params["id"]
        intent = fake.payment_intents.get(iid) or fake.setup_intents.get(iid)
        if intent is None:
            return HTMLResponse("<h1>No such intent</h1>", status_code=404)
        what = (
            f"{intent['amount'] / 100:.2f} {intent['currency'].upper()}"
            if intent["object"] == "payment_intent"
            else "saving your card"
        )
        return HTMLResponse(
            "<!doctype html><title>3D Secure test page</title>"
            f"<h1>3D Secure 2 test page</h1><p>{html.escape(what)} ({html.escape(iid)}, "
            f"{html.escape(intent['status'])})</p>"
            f'<form method="post" action="/_fake/3ds/{html.escape(iid)}/complete">'
            '<button name="ui" value="1">Complete authentication</button></form>'
            f'<form method="post" action="/_fake/3ds/{html.escape(iid)}/fail">'
            '<button name="ui" value="1">Fail authentication</button></form>'
        )

    async def authenticate(request: Request) -> Response:
        iid, outcome = request.path_params["id"], request.path_params["outcome"]
        if outcome not in ("complete", "fail"):
            return JSONResponse({"error": "complete or fail"}, status_code=404)
        try:
            intent = fake.authenticate(iid, ok=outcome == "complete")
        except StripeError as exc:
            return _error_response(exc, _new_id("req"))
        fake.flush_events()
        return_url = fake.return_urls.get(iid)
        if b"ui=1" in await request.body() and return_url:
            sep = "&" if "?" in return_url else "?"
            kind = "payment_intent" if intent["object"] == "payment_intent" else "setup_intent"
            target = f"{return_url}{sep}{kind}={iid}&{kind}_client_secret={intent['client_secret']}"
            return RedirectResponse(target, status_code=303)
        return JSONResponse(intent)

    async def deliveries(request: Request) -> Response:
        kind = request.query_params.get("type")
        return JSONResponse(
            [d.view() for d in fake.deliveries if kind is None or d.event_type == kind]
        )

    async def add_endpoint(request: Request) -> Response:
        try:
            doc = orjson.loads(await request.body())
            endpoint = Endpoint(str(doc["url"]), str(doc.get("secret") or DEFAULT_WEBHOOK_SECRET))
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"want {{url, secret}}: {exc!r}"}, status_code=400)
        fake.endpoints.append(endpoint)
        return JSONResponse({"url": endpoint.url, "secret": endpoint.secret})

    async def clear_endpoints(request: Request) -> Response:
        fake.endpoints.clear()
        return JSONResponse({})

    async def requests_seen(request: Request) -> Response:
        return JSONResponse(fake.requests)

    async def swap_card(request: Request) -> Response:
        pid = request.path_params["id"]
        try:
            number = str(orjson.loads(await request.body())["number"])
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"want {{number}}: {exc!r}"}, status_code=400)
        if pid not in fake.payment_methods or not luhn_ok(number):
            return JSONResponse({"error": "unknown PaymentMethod or bad number"}, status_code=400)
        fake.numbers[pid] = number
        return JSONResponse({"id": pid, "behaves_as": number})

    async def reset(request: Request) -> Response:
        fake.reset()
        return JSONResponse({})

    def endpoint(spec: tuple[str, str, str, bool]) -> Callable[[Request], Awaitable[Response]]:
        async def call_api(request: Request) -> Response:
            return await api(request, spec)

        return call_api

    routes = [Route(spec[1], endpoint(spec), methods=[spec[0]]) for spec in ROUTES]
    return Starlette(
        routes=[
            *routes,
            Route("/_fake/3ds/{id}", challenge_page, methods=["GET"]),
            Route("/_fake/3ds/{id}/{outcome}", authenticate, methods=["POST"]),
            Route("/_fake/deliveries", deliveries, methods=["GET"]),
            Route("/_fake/webhook_endpoints", add_endpoint, methods=["POST"]),
            Route("/_fake/webhook_endpoints", clear_endpoints, methods=["DELETE"]),
            Route("/_fake/requests", requests_seen, methods=["GET"]),
            Route("/_fake/payment_methods/{id}/card", swap_card, methods=["POST"]),
            Route("/_fake/reset", reset, methods=["POST"]),
            *fake.faults.routes(),
            Route("/v1/{rest:path}", unknown, methods=["GET", "POST", "DELETE"]),
        ]
    )


def _client_secret(fake: FakeStripe, iid: str) -> str | None:
    intent = fake.payment_intents.get(iid) or fake.setup_intents.get(iid)
    return None if intent is None else str(intent["client_secret"])


def _forward_headers(request: Request) -> dict[str, str]:
    keep = ("authorization", "content-type", "stripe-version")
    headers = {k: v for k, v in request.headers.items() if k.lower() in keep}
    if _api_key(request).startswith("pk_test_"):
        # stripe-mock takes secret keys only; who may call is this fake's decision, made
        # already: stripe-mock checks the shape.
        headers["authorization"] = "Bearer sk_test_123"
    return headers


async def _stripe_mock_refusal(fake: FakeStripe, request: Request, body: bytes) -> Response | None:
    if fake.stripe_mock_url is None:
        return None
    answer = await _proxy(fake, request, body)
    return answer if 400 <= answer.status_code < 500 else None


async def _proxy(fake: FakeStripe, request: Request, body: bytes) -> Response:
    assert fake.stripe_mock_url is not None
    url = f"{fake.stripe_mock_url}{request.url.path}"
    if request.url.query:
        url += f"?{request.url.query}"
    r = await fake.http.request(
        request.method, url, content=body, headers=_forward_headers(request)
    )
    return Response(r.content, status_code=r.status_code, media_type="application/json")


# --- running it ------------------------------------------------------------------------------


@dataclass
class RunningStripe:
    """A fake Stripe served over HTTP in this process (tests): `url` for stripe-python's
    `base_addresses={"api": url}`, `fake` for its state and the buyer's side."""

    fake: FakeStripe
    url: str

    def add_webhook_endpoint(self, url: str, secret: str = DEFAULT_WEBHOOK_SECRET) -> None:
        self.fake.endpoints.append(Endpoint(url, secret))

    def authenticate(self, intent_id: str, *, ok: bool = True) -> dict[str, Any]:
        """The buyer completes (`ok`) or fails the 3-D Secure challenge of an intent."""
        intent = self.fake.authenticate(intent_id, ok=ok)
        self.fake.flush_events()
        return intent

    def behave_as(self, payment_method_id: str, number: str) -> None:
        """A saved card behaves as another test card from now on (lost, expired, ...)."""
        self.fake.numbers[payment_method_id] = number

    def event_types(self) -> list[str]:
        """The types of the events made so far, oldest first."""
        return [e["type"] for e in self.fake.events.values()]

    async def wait_delivered(self, count: int, timeout_s: float = 20.0) -> list[Delivery]:
        """Wait until `count` deliveries succeeded; the deliveries so far."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while sum(d.delivered for d in self.fake.deliveries) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(
                    f"{sum(d.delivered for d in self.fake.deliveries)} of {count} delivered: "
                    f"{[d.view() for d in self.fake.deliveries]}"
                )
            await asyncio.sleep(0.02)
        return list(self.fake.deliveries)


@contextlib.asynccontextmanager
async def running(
    fake: FakeStripe | None = None, *, port: int | None = None
) -> AsyncIterator[RunningStripe]:
    """Serve a fake Stripe over real HTTP in this event loop until the block ends."""
    fake = fake or FakeStripe()
    try:
        async with serving(create_app(fake), port=port) as url:
            yield RunningStripe(fake, url)
    finally:
        await fake.aclose()


ENV_API_KEY = "PAYSTREAM_FAKE_STRIPE_API_KEY"
ENV_WEBHOOK_URL = "PAYSTREAM_FAKE_STRIPE_WEBHOOK_URL"
ENV_WEBHOOK_SECRET = "PAYSTREAM_FAKE_STRIPE_WEBHOOK_SECRET"
ENV_STRIPE_MOCK_URL = "PAYSTREAM_FAKE_STRIPE_MOCK_URL"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8008)
    parser.add_argument(
        "--api-key",
        default=os.environ.get(ENV_API_KEY),
        help="the only secret key taken (default: any sk_test_...)",
    )
    parser.add_argument(
        "--webhook-url",
        action="append",
        default=[u for u in os.environ.get(ENV_WEBHOOK_URL, "").split(",") if u],
        help="where events are delivered (repeatable; env: comma-separated)",
    )
    parser.add_argument(
        "--webhook-secret",
        # webhook-ingest's own setting, so a stack that sets it needs nothing else.
        default=os.environ.get(ENV_WEBHOOK_SECRET)
        or os.environ.get("PAYSTREAM_STRIPE_WEBHOOK_SECRETS", "").split(",")[0]
        or DEFAULT_WEBHOOK_SECRET,
    )
    parser.add_argument(
        "--stripe-mock",
        default=os.environ.get(ENV_STRIPE_MOCK_URL),
        help="stripe-mock's URL: requests are checked there first, unknown paths answered there",
    )
    args = parser.parse_args(argv)
    mock = args.stripe_mock
    if mock and urlsplit(mock).port == args.port:
        parser.error("--stripe-mock points at this fake itself")
    fake = FakeStripe(
        api_key=args.api_key,
        endpoints=[Endpoint(u, args.webhook_secret) for u in args.webhook_url],
        stripe_mock_url=mock or None,
    )
    run(create_app(fake), args.port)


if __name__ == "__main__":
    main()
