"""What is on sale and how it can be paid: `GET /v1/packages`, `GET /v1/payment-methods`.

Both are public (no bearer token). Refusals: 422 validation_error (currency missing or not 3-4
letters).
"""

from __future__ import annotations

from fastapi import APIRouter

from paystream.checkout.catalog.schemas import (
    Currency,
    PackageOut,
    PackagesOut,
    PaymentMethodOut,
    PaymentMethodsOut,
    UnitOut,
)
from paystream.checkout.context import Context, error_doc
from paystream.checkout.pricing.schemas import ProductOut

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.get("/packages", response_model=PackagesOut, summary="The credit packages on sale")
async def list_packages(ctx: Context) -> PackagesOut:
    return PackagesOut(
        packages=[PackageOut.of(p) for p in ctx.catalog.packages],
        units=[UnitOut(id=u.id, name=u.name) for u in ctx.catalog.units],
        products=[ProductOut.of(p) for p in ctx.catalog.products],
    )


@router.get(
    "/payment-methods",
    response_model=PaymentMethodsOut,
    summary="The payment methods a payer can use for an amount in a currency",
    responses={**error_doc(422, "validation_error", "missing or malformed currency")},
)
async def list_payment_methods(ctx: Context, currency: Currency) -> PaymentMethodsOut:
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
