"""`GET /v1/plans`: the plans on sale (public). Subscribing and changing plans:
`subscriptions/endpoints.py`."""

from __future__ import annotations

from fastapi import APIRouter

from paystream.checkout.context import Context
from paystream.checkout.plans.schemas import PlanOut, PlansOut

router = APIRouter(prefix="/v1", tags=["plans"])


@router.get("/plans", response_model=PlansOut, summary="The plans: allowances, prices, intervals")
async def list_plans(ctx: Context) -> PlansOut:
    default = ctx.catalog.default_plan
    return PlansOut(
        plans=[
            PlanOut.of(p, default=default is not None and p.id == default.id)
            for p in ctx.catalog.plans
        ]
    )
