"""`POST /v1/spend`: the hot path. The request joins the next spend batch (group commit).

The common request (a valid token, a body `SpendIn` accepts) runs on the lean path of
`paystream.shared.lean`; any other takes the route's ordinary FastAPI path, which refuses it."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from paystream.ledger.common import IdempotencyKey, error, require_key
from paystream.ledger.context import LedgerContext
from paystream.ledger.spending.batcher import SpendRequest
from paystream.ledger.spending.schemas import SpendIn, SpendOut
from paystream.shared.auth import CurrentPrincipal, Principal
from paystream.shared.lean import lean_route


def spend_lean(request: Request, principal: Principal, body: Any) -> Awaitable[Response] | None:
    """`spend` for a body its signature accepts (validated as FastAPI validates it), else None:
    the ordinary path gives the 422. The header is read as FastAPI reads a header parameter."""
    try:
        valid = SpendIn.model_validate(body, from_attributes=True)
    except ValidationError:
        return None
    return _spend(request, valid, principal, request.headers.get("idempotency-key"))


router = APIRouter(prefix="/v1", tags=["spending"], route_class=lean_route(spend_lean))


@router.post(
    "/spend",
    status_code=201,
    response_model=SpendOut,
    responses={
        201: {
            "description": "spent; a replay of the same key and body carries the header "
            "`Idempotent-Replayed: true`"
        },
        400: error("idempotency_key_required, or bad_request: key longer than 255"),
        401: error("no or bad token"),
        409: error("insufficient_credits: fewer credits available in the unit than `credits`"),
        422: error("idempotency_key_reused (same key, other body), unknown_unit, validation_error"),
    },
)
async def spend(
    request: Request,
    body: SpendIn,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await _spend(request, body, principal, idempotency_key)


async def _spend(
    request: Request, body: SpendIn, principal: Principal, idempotency_key: str | None
) -> Response:
    # The context straight from the app, not as a dependency: the hot path pays for every
    # dependency FastAPI resolves.
    ctx: LedgerContext = request.app.state.ledger
    key = require_key(idempotency_key)
    unit = await ctx.units.require(body.unit)
    spent = await ctx.spender.spend(
        SpendRequest(
            user_id=principal.user_id,
            unit=unit,
            credits=body.credits,
            reason=body.reason,
            idempotency_key=key,
        )
    )
    # Built from the stored transaction either way, so a replay is byte for byte the original.
    return Response(
        SpendOut.of(spent.record).model_dump_json(),
        status_code=201,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if spent.replayed else None,
    )
