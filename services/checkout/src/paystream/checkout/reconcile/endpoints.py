"""The reconciler's work as an operator sees it (admin): `paystream reconcile status` reads it.

Refusals: 401 unauthorized, 403 forbidden (not an admin), 422 validation_error (limit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from paystream.checkout.context import Context, error_doc
from paystream.checkout.reconcile import repository as repo
from paystream.shared.auth import AdminPrincipal

router = APIRouter(prefix="/v1/admin/reconcile", tags=["reconcile"])


class ReconcileItem(BaseModel):
    kind: Literal["order", "refund"]
    id: str
    provider: str | None
    created_at: datetime
    attempts: int = Field(description="questions asked so far (0: not asked yet)")
    checked_at: datetime | None = Field(description="when last asked")
    next_check_at: datetime | None = Field(description="null: due once old enough")
    last_result: str | None = Field(
        description="the provider's last answer (paid, open, failed, succeeded, pending, ...)"
    )


class ReconcileStatus(BaseModel):
    pending_orders: int = Field(description="pending orders the reconciler can ask about")
    pending_refunds: int = Field(description="pending refunds it asks about until known")
    items: list[ReconcileItem] = Field(description="the oldest of them, up to `limit`")


@router.get(
    "",
    response_model=ReconcileStatus,
    summary="Pending orders and refunds under check: attempts, next check, last result (admin)",
    responses={
        **error_doc(401, "unauthorized", "no or invalid bearer token"),
        **error_doc(403, "forbidden", "not an admin"),
    },
)
async def reconcile_status(
    ctx: Context,
    _: AdminPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ReconcileStatus:
    async with ctx.pool.acquire() as conn:
        orders, refunds, rows = await repo.under_check(conn, limit=limit)
    return ReconcileStatus(
        pending_orders=orders,
        pending_refunds=refunds,
        items=[
            ReconcileItem(
                kind=r["kind"],
                id=str(r["id"]),
                provider=r["provider"],
                created_at=r["created_at"],
                attempts=r["attempts"] or 0,
                checked_at=r["checked_at"],
                next_check_at=r["next_check_at"],
                last_result=r["last_outcome"],
            )
            for r in rows
        ],
    )
