"""`POST /v1/quotes`: price a purchase before ordering it (bearer).

Refusals (422): validation_error (shape: one of package_id / product_id, a product with one of
quantity / amount); unknown_package, unknown_product; currency_not_offered; quantity_out_of_range,
quantity_not_offered; amount_out_of_range, amount_off_step, custom_amount_not_offered.
"""

from __future__ import annotations

from fastapi import APIRouter

from paystream.checkout.context import Context, error_doc
from paystream.checkout.orders.schemas import GrantOut, LineOut
from paystream.checkout.quotes import service
from paystream.checkout.quotes.schemas import QuoteIn, QuoteOut
from paystream.shared.auth import CurrentPrincipal
from paystream.shared.schemas import MoneyOut

router = APIRouter(prefix="/v1", tags=["quotes"])


@router.post(
    "/quotes",
    status_code=201,
    response_model=QuoteOut,
    summary="Price a package, a quantity or a custom amount: the order will charge exactly this",
    responses={
        **error_doc(401, "unauthorized", "no or invalid bearer token"),
        **error_doc(
            422,
            "validation_error | unknown_package | unknown_product | currency_not_offered | "
            "quantity_out_of_range | quantity_not_offered | amount_out_of_range | "
            "amount_off_step | custom_amount_not_offered",
            "not a purchase the catalog sells",
        ),
    },
)
async def create_quote(body: QuoteIn, principal: CurrentPrincipal, ctx: Context) -> QuoteOut:
    quoted = service.make_quote(
        service.QuoteRequest(
            user_id=principal.user_id,
            package_id=body.package_id,
            product_id=body.product_id,
            quantity=body.quantity,
            amount=None if body.amount is None else body.amount.to_money(),
            currency=None if body.currency is None else body.currency.upper(),
        ),
        catalog=ctx.catalog,
        signer=ctx.signer,
        ttl=ctx.quote_ttl,
    )
    q, facts = quoted.quote, quoted.facts
    currency = q.amount.currency
    return QuoteOut(
        quote_id=q.id,
        kind=q.kind,
        item_id=q.item_id,
        unit=q.unit,
        quantity=q.units,
        amount=MoneyOut.of(q.amount),
        unit_amount=None if q.unit_amount is None else MoneyOut.of(q.unit_amount),
        rule=q.rule,
        lines=[LineOut.of(line, currency) for line in facts.lines],
        grants=[GrantOut.of(g) for g in facts.grants],
        expires_at=q.expires_at,
        token=quoted.token,
    )
