"""The orders API: place an order, read and list orders, the QR image, cancel, ask the provider
(sync).

Refusals (status, code):
- 401 unauthorized: no or bad bearer token.
- 422 validation_error: malformed body or query (unknown payment_method, bad return_url or
  currency, invalid status filter, limit out of 1..100, Idempotency-Key longer than 255, QR
  format or scale).
- 422 unknown_package / currency_not_offered / payment_method_unavailable: the package, its
  price in that currency, or that method for that currency is not on sale here.
- 422 idempotency_key_reused: the Idempotency-Key was used with another body.
- 422 quote_invalid / quote_expired: the quote was altered, is another user's, or expired;
  unknown_product: the quoted product is no longer sold.
- 422 return_url_not_allowed: the return_url's host is not on `return_url_hosts`.
- 429 too_many_open_orders / order_rate_limited (with Retry-After): the caller's limit of open
  orders, or of orders created per window.
- 409 order_not_cancellable: the order is not pending; provider_not_configured: sync of an
  order whose provider is not configured here.
- 429 rate_limited: the order was synced less than `order_sync_min_interval_s` ago
  (`Retry-After` says when to ask again).
- 404 not_found: unknown or malformed id, or another user's order; `qr_not_available`: an order
  with no QR code.
- 400 bad_request: invalid pagination cursor.
- 502 upstream_error: the provider refused or did not answer (placing: the order is marked
  failed; cancelling: the order stays pending; sync: nothing changed).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from paystream.checkout.context import Context, error_doc, saved_methods
from paystream.checkout.orders import qr, service, sync
from paystream.checkout.orders.domain import OrderStatus
from paystream.checkout.orders.schemas import (
    CreateOrderIn,
    OrderOut,
    OrderPage,
    ProviderAnswerOut,
    SyncOut,
)
from paystream.checkout.payment_methods import service as payment_methods
from paystream.shared.auth import CurrentPrincipal
from paystream.shared.errors import NotFound
from paystream.shared.pagination import CursorQuery

router = APIRouter(prefix="/v1", tags=["orders"])


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,
    summary="Order a package and open its payment page",
    responses={
        **error_doc(401, "unauthorized", "no or invalid bearer token"),
        **error_doc(
            422,
            "validation_error | unknown_package | unknown_product | currency_not_offered | "
            "payment_method_unavailable | idempotency_key_reused | quote_invalid | quote_expired "
            "| return_url_not_allowed",
            "invalid body, package / currency / method not on sale, key reused, a quote that "
            "was altered, issued to someone else or expired, or a return_url whose host is not "
            "on the allow-list",
        ),
        **error_doc(
            429,
            "too_many_open_orders | order_rate_limited",
            "the caller is at their limit of open orders or of orders per window; "
            "`Retry-After` says when to try again",
        ),
        **error_doc(502, "upstream_error", "the payment provider failed; the order is failed"),
    },
)
async def create_order(
    body: CreateOrderIn,
    principal: CurrentPrincipal,
    ctx: Context,
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
    customer = None
    if body.save_card:
        customer = await payment_methods.ensure_customer(
            ctx.pool, saved_methods(ctx), principal.user_id
        )
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
            quote=body.quote,
            save_card_customer=customer,
        ),
        catalog=ctx.catalog,
        providers=ctx.providers,
        config=ctx.config,
        signer=ctx.signer,
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
        **error_doc(401, "unauthorized", "no or invalid bearer token"),
        **error_doc(404, "not_found", "unknown or malformed id, or another user's order"),
    },
)
async def get_order(order_id: str, principal: CurrentPrincipal, ctx: Context) -> OrderOut:
    return OrderOut.of(await service.get_order_for(ctx.pool, principal, order_id))


@router.get(
    "/orders",
    response_model=OrderPage,
    summary="The caller's orders, newest first (an admin sees everyone's)",
    responses={
        **error_doc(400, "bad_request", "invalid cursor"),
        **error_doc(401, "unauthorized", "no or invalid bearer token"),
        **error_doc(422, "validation_error", "invalid status or limit"),
    },
)
async def list_orders(
    principal: CurrentPrincipal,
    ctx: Context,
    status: OrderStatus | None = None,
    user_id: Annotated[
        str | None, Query(description="Admins: only this user's orders.", max_length=255)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: CursorQuery = None,
) -> OrderPage:
    orders, next_cursor = await service.list_orders_for(
        ctx.pool, principal, status=status, user_id=user_id, limit=limit, cursor=cursor
    )
    return OrderPage(items=[OrderOut.of(o) for o in orders], next_cursor=next_cursor)


@router.get(
    "/orders/{order_id}/qr",
    summary="The order's QR code as an image (alipay_qr, wechat_pay_native, usdt_trc20)",
    responses={
        200: {"content": {"image/svg+xml": {}, "image/png": {}}},
        **error_doc(401, "unauthorized", "no or invalid bearer token"),
        **error_doc(404, "not_found | qr_not_available", "no such order, or it has no QR code"),
        **error_doc(422, "validation_error", "format is not svg or png, or scale out of 1..20"),
    },
)
async def order_qr(
    order_id: str,
    principal: CurrentPrincipal,
    ctx: Context,
    format: Annotated[qr.Format, Query(description="svg (default) or png")] = "svg",
    scale: Annotated[int, Query(ge=1, le=20)] = 8,
) -> Response:
    order = await service.get_order_for(ctx.pool, principal, order_id)
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
        **error_doc(401, "unauthorized", "no or invalid bearer token"),
        **error_doc(404, "not_found", "unknown or malformed id, or another user's order"),
        **error_doc(409, "order_not_cancellable", "the order is not pending"),
        **error_doc(502, "upstream_error", "the provider could not close the payment"),
    },
)
async def cancel_order(order_id: str, principal: CurrentPrincipal, ctx: Context) -> OrderOut:
    order = await service.cancel_order(ctx.pool, principal, order_id, providers=ctx.providers)
    ctx.wake_outbox()
    return OrderOut.of(order)


@router.post(
    "/orders/{order_id}/sync",
    response_model=SyncOut,
    summary="Ask the provider about the order's payment now (its owner or an admin)",
    description="For a success page whose notification is late: the provider is asked (Stripe "
    "Checkout Session / PaymentIntent, alipay.trade.query, WeChat Pay's order query; USDT is "
    "watched on chain) and a paid or failed payment is applied exactly as its notification "
    "would be, once. Rate-limited per order.",
    responses={
        **error_doc(401, "unauthorized", "no or invalid bearer token"),
        **error_doc(404, "not_found", "unknown or malformed id, or another user's order"),
        **error_doc(409, "provider_not_configured", "the order's provider is not configured"),
        **error_doc(429, "rate_limited", "asked too recently; see Retry-After"),
        **error_doc(502, "upstream_error", "the provider did not answer; nothing changed"),
    },
)
async def sync_order(order_id: str, principal: CurrentPrincipal, ctx: Context) -> SyncOut:
    order, lookup = await sync.sync_order(
        ctx.pool,
        principal,
        order_id,
        providers=ctx.providers,
        plans=ctx.plans,
        min_interval=ctx.config.sync_min_interval,
        source=sync.SYNC_SOURCE,
        second_payment=ctx.config.second_payment,
    )
    answer = None
    if lookup is not None:
        answer = ProviderAnswerOut(state=lookup.state.value, status=lookup.status)
        if lookup.state.value != "open":
            ctx.wake_outbox()
    return SyncOut(order=OrderOut.of(order), provider=answer)
