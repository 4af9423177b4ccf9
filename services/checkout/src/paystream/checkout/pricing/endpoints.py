"""`GET /v1/products`: the unit products on sale, with their tiers and custom-amount rules
(public). Prices for a purchase come from `POST /v1/quotes`."""

from __future__ import annotations

from fastapi import APIRouter

from paystream.checkout.context import Context
from paystream.checkout.pricing.schemas import ProductOut, ProductsOut

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.get("/products", response_model=ProductsOut, summary="Unit products: tiers, custom amounts")
async def list_products(ctx: Context) -> ProductsOut:
    return ProductsOut(products=[ProductOut.of(p) for p in ctx.catalog.products])
