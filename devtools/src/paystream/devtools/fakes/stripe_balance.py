"""Stripe's balance transactions with state, for the daily settlement on a local stack.

stripe-mock answers `GET /v1/balance_transactions` in Stripe's shape but from fixtures: it keeps
no state, so it cannot say what a day settled. This fake serves only that list, in Stripe's wire
format (`bills.stripe_balance_transaction`), from lines a test or the demo records as Stripe
would have on each charge and refund. Checkout reads it when PAYSTREAM_STRIPE_BALANCE_API_BASE
points here; everything else still goes to stripe-mock. (A stateful fake of Stripe as a whole
would serve this list from its own charges instead.)

- `GET /v1/balance_transactions?created[gte]=&created[lt]=&limit=&starting_after=&expand[]=`
  (Bearer sk_... required: 401 otherwise, as Stripe answers), newest first as Stripe lists.
- `POST /_fake/balance_transactions` `{"kind": "payment"|"refund", "reference": "pi_..."|"re_...",
  "amount_minor", "currency", "provider_id"?, "trade_reference"?, "at"?}`: one movement.
- `DELETE /_fake/balance_transactions`: forget them.

`python -m paystream.devtools.fakes.stripe_balance --port N`.
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paystream.devtools.fakes import run
from paystream.devtools.fakes.bills import BillLine, stripe_balance_transaction


def _error(status: int, type_: str, message: str, param: str | None = None) -> JSONResponse:
    err: dict[str, Any] = {"type": type_, "message": message}
    if param:
        err["param"] = param
    return JSONResponse({"error": err}, status_code=status)


def create_app() -> Starlette:
    moved: list[tuple[BillLine, str]] = []

    async def list_transactions(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer sk_"):
            return _error(401, "invalid_request_error", "Invalid API Key provided")
        q = request.query_params
        try:
            gte = int(q.get("created[gte]", "0"))
            lt = int(q.get("created[lt]", str(2**62)))
            limit = int(q.get("limit", "10"))
        except ValueError:
            return _error(400, "invalid_request_error", "Invalid integer", "created")
        if not 1 <= limit <= 100:
            return _error(400, "invalid_request_error", "Invalid limit", "limit")
        docs = [
            stripe_balance_transaction(x, currency=c)
            for x, c in moved
            if gte <= int(x.at.timestamp()) < lt
        ]
        docs.sort(key=lambda d: (-d["created"], d["id"]))
        after = q.get("starting_after")
        if after:
            ids = [d["id"] for d in docs]
            if after not in ids:
                return _error(400, "invalid_request_error", "No such object", "starting_after")
            docs = docs[ids.index(after) + 1 :]
        # Stripe's SDKs send `expand[0]=...`, curl users `expand[]=...`.
        expand = {v for k, v in q.multi_items() if k == "expand[]" or k.startswith("expand[")}
        if "data.source" not in expand:
            for d in docs:
                d["source"] = d["source"]["id"]
        page = docs[:limit]
        return JSONResponse(
            {
                "object": "list",
                "data": page,
                "has_more": len(docs) > limit,
                "url": "/v1/balance_transactions",
            }
        )

    async def record(request: Request) -> Response:
        doc = orjson.loads(await request.body() or b"{}")
        line = BillLine.of(doc, id_prefix="ch_")
        moved.append((line, str(doc.get("currency", "usd"))))
        return JSONResponse(stripe_balance_transaction(line, currency=moved[-1][1]))

    async def forget(request: Request) -> Response:
        moved.clear()
        return JSONResponse({"deleted": True})

    return Starlette(
        routes=[
            Route("/v1/balance_transactions", list_transactions, methods=["GET"]),
            Route("/_fake/balance_transactions", record, methods=["POST"]),
            Route("/_fake/balance_transactions", forget, methods=["DELETE"]),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m paystream.devtools.fakes.stripe_balance")
    parser.add_argument("--port", type=int, default=12112)
    args = parser.parse_args(argv)
    run(create_app(), args.port)


if __name__ == "__main__":
    main()
