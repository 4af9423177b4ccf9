"""Checkout's HTTP API: the package catalog, payment methods, orders and refunds.

Refusals (status, code):
- 401 unauthorized: no or bad bearer token (everything but GET /v1/packages and
  GET /v1/payment-methods).
- 403 forbidden: a refund endpoint called without the admin role.
- 422 validation_error: malformed body or query (unknown payment_method, bad return_url or
  currency, invalid status filter, limit out of 1..100, Idempotency-Key missing (refunds) or
  longer than 255, an amount with too many decimals).
- 422 unknown_package / currency_not_offered / payment_method_unavailable: the package, its
  price in that currency, or that method for that currency is not on sale here.
- 422 idempotency_key_reused: the Idempotency-Key was used with another body.
- 422 amount_exceeds_refundable / currency_mismatch: a refund for more than is left, or in
  another currency than the payment.
- 409 order_not_cancellable / order_not_refundable / refund_not_awaiting_payout: the order or
  refund is not in a state that allows it.
- 404 not_found: unknown or malformed id, another user's order or refund, or an order with no
  QR code (`qr_not_available`).
- 400 bad_request: invalid pagination cursor.
- 502 upstream_error: the provider refused or did not answer (order placement: the order is
  marked failed; cancel: the order stays pending; refund: the refund is marked failed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Header, Query, Request, Response

from paystream.checkout import qr, refunds, service
from paystream.checkout.catalog import Catalog
from paystream.checkout.domain import OrderStatus, RefundState
from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.schemas import (
    ConfirmPayoutIn,
    CreateOrderIn,
    CreateRefundIn,
    Currency,
    OrderOut,
    OrderPage,
    PackageOut,
    PackagesOut,
    PaymentMethodOut,
    PaymentMethodsOut,
    RefundOut,
    RefundPage,
)
from paystream.shared.auth import AdminPrincipal, CurrentPrincipal
from paystream.shared.errors import NotFound

router = APIRouter(prefix="/v1")


@dataclass(frozen=True, slots=True)
class CheckoutContext:
    """What the endpoints need, built by the app's lifespan."""

    pool: asyncpg.Pool
    catalog: Catalog
    providers: ProviderRegistry
    config: service.CheckoutConfig
    wake_outbox: Callable[[], None]
    # Stripe payment method types per currency (for GET /v1/payment-methods).
    stripe_types: Callable[[str], tuple[str, ...]]


def _ctx(request: Request) -> CheckoutContext:
    ctx: CheckoutContext = request.app.state.checkout
    return ctx


def _error(status: int, code: str, description: str) -> dict[int | str, dict[str, object]]:
    return {status: {"description": f"`{code}`: {description}"}}


@router.get("/packages", response_model=PackagesOut, summary="The credit packages on sale")
async def list_packages(request: Request) -> PackagesOut:
    return PackagesOut(packages=[PackageOut.of(p) for p in _ctx(request).catalog.packages])


@router.get(
    "/payment-methods",
    response_model=PaymentMethodsOut,
    summary="The payment methods a payer can use for an amount in a currency",
    responses={**_error(422, "validation_error", "missing or malformed currency")},
)
async def list_payment_methods(request: Request, currency: Currency) -> PaymentMethodsOut:
    ctx = _ctx(request)
    currency = currency.upper()
    return PaymentMethodsOut(
        currency=currency,
        methods=[
            PaymentMethodOut(
                payment_method=o.payment_method,
                provider=o.provider,
                types=list(ctx.stripe_types(currency))
                if o.payment_method == "stripe_payment_intent"
                else [],
            )
            for o in ctx.providers.offered(currency)
        ],
    )


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,
    summary="Order a package and open its payment page",
    responses={
        **_error(401, "unauthorized", "no or invalid bearer token"),
        **_error(
            422,
            "validation_error | unknown_package | currency_not_offered | "
            "payment_method_unavailable | idempotency_key_reused",
            "invalid body, package / currency / method not on sale, or key reused",
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
            currency=None if body.currency is None else body.currency.upper(),
            client_ip=request.client.host if request.client else None,
        ),
        catalog=ctx.catalog,
        providers=ctx.providers,
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


@router.get(
    "/orders/{order_id}/qr",
    summary="The order's QR code as an image (alipay_qr, wechat_pay_native, usdt_trc20)",
    responses={
        200: {"content": {"image/svg+xml": {}, "image/png": {}}},
        **_error(401, "unauthorized", "no or invalid bearer token"),
        **_error(404, "not_found | qr_not_available", "no such order, or it has no QR code"),
        **_error(422, "validation_error", "format is not svg or png, or scale out of 1..20"),
    },
)
async def order_qr(
    order_id: str,
    principal: CurrentPrincipal,
    request: Request,
    format: Annotated[qr.Format, Query(description="svg (default) or png")] = "svg",
    scale: Annotated[int, Query(ge=1, le=20)] = 8,
) -> Response:
    async with _ctx(request).pool.acquire() as conn:
        order = await service.get_order_for(conn, principal, order_id)
    content = order.qr_code or order.deposit_address
    if content is None:
        raise QrNotAvailable("this order has no QR code (its payment method does not use one)")
    image, media_type = qr.render(content, format, scale=scale)
    return Response(image, media_type=media_type, headers={"Cache-Control": "private, max-age=300"})


class QrNotAvailable(NotFound):
    code = "qr_not_available"


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderOut,
    summary="Cancel a pending order (its owner or an admin); the provider's payment is closed",
    responses={
        **_error(401, "unauthorized", "no or invalid bearer token"),
        **_error(404, "not_found", "unknown or malformed id, or another user's order"),
        **_error(409, "order_not_cancellable", "the order is not pending"),
        **_error(502, "upstream_error", "the provider could not close the payment"),
    },
)
async def cancel_order(order_id: str, principal: CurrentPrincipal, request: Request) -> OrderOut:
    ctx = _ctx(request)
    order = await service.cancel_order(
        ctx.pool,
        principal,
        order_id,
        providers=ctx.providers,
    )
    ctx.wake_outbox()
    return OrderOut.of(order)


@router.post(
    "/refunds",
    status_code=201,
    response_model=RefundOut,
    summary="Refund all or part of a paid order (admin)",
    responses={
        **_error(401, "unauthorized", "no or invalid bearer token"),
        **_error(403, "forbidden", "not an admin"),
        **_error(404, "not_found", "unknown order"),
        **_error(409, "order_not_refundable", "the order is not paid"),
        **_error(
            422,
            "validation_error | amount_exceeds_refundable | currency_mismatch | "
            "idempotency_key_reused",
            "bad body, more than is left to refund, another currency, or key reused",
        ),
        **_error(502, "upstream_error", "the provider refused; the refund is marked failed"),
    },
)
async def create_refund(
    body: CreateRefundIn,
    principal: AdminPrincipal,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Required: retries with the same key and body return the same refund.",
        ),
    ],
) -> RefundOut:
    ctx = _ctx(request)
    done = await refunds.request_refund(
        ctx.pool,
        refunds.RequestRefund(
            order_id=body.order_id,
            amount=None if body.amount is None else body.amount.to_money(),
            reason=body.reason,
            requested_by=principal.user_id,
            idempotency_key=idempotency_key,
        ),
        providers=ctx.providers,
    )
    if done.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    ctx.wake_outbox()
    return RefundOut.of(done.refund)


@router.post(
    "/refunds/{refund_id}/confirm-payout",
    response_model=RefundOut,
    summary="Confirm a manual (USDT) refund was paid out (admin)",
    responses={
        **_error(403, "forbidden", "not an admin"),
        **_error(404, "not_found", "unknown refund"),
        **_error(409, "refund_not_awaiting_payout", "the refund is not a manual one awaiting"),
    },
)
async def confirm_payout(
    refund_id: str, body: ConfirmPayoutIn, principal: AdminPrincipal, request: Request
) -> RefundOut:
    ctx = _ctx(request)
    refund = await refunds.confirm_payout(ctx.pool, refund_id, body.reference)
    ctx.wake_outbox()
    return RefundOut.of(refund)


@router.get(
    "/refunds/{refund_id}",
    response_model=RefundOut,
    summary="One refund (the order's owner or an admin)",
    responses={**_error(404, "not_found", "unknown id, or another user's refund")},
)
async def get_refund(refund_id: str, principal: CurrentPrincipal, request: Request) -> RefundOut:
    async with _ctx(request).pool.acquire() as conn:
        return RefundOut.of(await refunds.get_refund_for(conn, principal, refund_id))


@router.get(
    "/refunds",
    response_model=RefundPage,
    summary="Refunds, newest first: the caller's own, or everyone's for an admin",
    responses={**_error(400, "bad_request", "invalid cursor")},
)
async def list_refunds(
    principal: CurrentPrincipal,
    request: Request,
    order_id: Annotated[str | None, Query(max_length=64)] = None,
    status: RefundState | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> RefundPage:
    async with _ctx(request).pool.acquire() as conn:
        items, next_cursor = await refunds.list_refunds_for(
            conn, principal, order_id=order_id, status=status, limit=limit, cursor=cursor
        )
    return RefundPage(items=[RefundOut.of(r) for r in items], next_cursor=next_cursor)
