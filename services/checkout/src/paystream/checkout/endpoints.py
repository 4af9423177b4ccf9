"""Checkout's HTTP API: the package catalog and orders.

Refusals (status, code):
- 401 unauthorized: no or bad bearer token (everything but GET /v1/packages).
- 422 validation_error: malformed body or query (unknown payment_method, bad return_url,
  invalid status filter, limit out of 1..100, Idempotency-Key longer than 255).
- 422 unknown_package: package_id not in the catalog.
- 422 idempotency_key_reused: the Idempotency-Key was used with another body.
- 502 upstream_error: Stripe refused or did not answer; the order is marked failed.
- 400 bad_request: invalid pagination cursor.
- 404 not_found: unknown or malformed order id, or another user's order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Header, Query, Request, Response

from paystream.checkout import service
from paystream.checkout.catalog import Catalog
from paystream.checkout.domain import OrderStatus
from paystream.checkout.schemas import CreateOrderIn, OrderOut, OrderPage, PackageOut, PackagesOut
from paystream.shared.auth import CurrentPrincipal

router = APIRouter(prefix="/v1")


@dataclass(frozen=True, slots=True)
class CheckoutContext:
    """What the endpoints need, built by the app's lifespan."""

    pool: asyncpg.Pool
    catalog: Catalog
    sessions: service.PaymentSessions
    config: service.CheckoutConfig
    wake_outbox: Callable[[], None]


def _ctx(request: Request) -> CheckoutContext:
    ctx: CheckoutContext = request.app.state.checkout
    return ctx


def _error(status: int, code: str, description: str) -> dict[int | str, dict[str, object]]:
    return {status: {"description": f"`{code}`: {description}"}}


@router.get("/packages", response_model=PackagesOut, summary="The credit packages on sale")
async def list_packages(request: Request) -> PackagesOut:
    return PackagesOut(packages=[PackageOut.of(p) for p in _ctx(request).catalog.packages])


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,
    summary="Order a package and open its payment page",
    responses={
        **_error(401, "unauthorized", "no or invalid bearer token"),
        **_error(
            422,
            "validation_error | unknown_package | idempotency_key_reused",
            "invalid body, package not on sale, or key reused with another body",
        ),
        **_error(502, "upstream_error", "the payment provider failed; the order is failed"),
    },
)
async def create_order(
    body: CreateOrderIn,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Retries with the same key and body return the same order.",
        ),
    ] = None,
) -> OrderOut:
    ctx = _ctx(request)
    placed = await service.place_order(
        ctx.pool,
        service.PlaceOrder(
            user_id=principal.user_id,
            package_id=body.package_id,
            payment_method=body.payment_method,
            return_url=None if body.return_url is None else str(body.return_url),
            idempotency_key=idempotency_key,
        ),
        catalog=ctx.catalog,
        sessions=ctx.sessions,
        config=ctx.config,
    )
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        ctx.wake_outbox()
    return OrderOut.of(placed.order)


@router.get(
    "/orders/{order_id}",
    response_model=OrderOut,
    summary="One order (its owner or an admin)",
    responses={
        **_error(401, "unauthorized", "no or invalid bearer token"),
        **_error(404, "not_found", "unknown or malformed id, or another user's order"),
    },
)
async def get_order(order_id: str, principal: CurrentPrincipal, request: Request) -> OrderOut:
    async with _ctx(request).pool.acquire() as conn:
        return OrderOut.of(await service.get_order_for(conn, principal, order_id))


@router.get(
    "/orders",
    response_model=OrderPage,
    summary="The caller's orders, newest first (an admin sees everyone's)",
    responses={
        **_error(400, "bad_request", "invalid cursor"),
        **_error(401, "unauthorized", "no or invalid bearer token"),
        **_error(422, "validation_error", "invalid status or limit"),
    },
)
async def list_orders(
    principal: CurrentPrincipal,
    request: Request,
    status: OrderStatus | None = None,
    user_id: Annotated[
        str | None, Query(description="Admins: only this user's orders.", max_length=255)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> OrderPage:
    async with _ctx(request).pool.acquire() as conn:
        orders, next_cursor = await service.list_orders_for(
            conn, principal, status=status, user_id=user_id, limit=limit, cursor=cursor
        )
    return OrderPage(items=[OrderOut.of(o) for o in orders], next_cursor=next_cursor)
