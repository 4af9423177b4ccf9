"""`POST /v1/sandbox/jobs/run`: run the time-driven jobs once now (admin, sandbox mode only), so
a test that moved the clock does not wait for the next round."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from paystream.ledger.common import error
from paystream.ledger.context import LedgerContext, ledger
from paystream.ledger.expiry.service import run_jobs
from paystream.shared.auth import AdminPrincipal
from paystream.shared.clock import OffsetClock
from paystream.shared.sandbox import SandboxOnlyRefused

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"])


class JobsOut(BaseModel):
    holds_released: int
    lots_expired: int
    notices_sent: int
    refunds_settled: int


@router.post(
    "/jobs/run",
    response_model=JobsOut,
    summary="Run the expiry, notice, hold-TTL and waiting-refund jobs once (sandbox mode only)",
    responses={403: error("forbidden (not an admin) or sandbox_only (not in sandbox mode)")},
)
async def run_now(_: AdminPrincipal, ctx: Annotated[LedgerContext, Depends(ledger)]) -> JobsOut:
    if not isinstance(ctx.clock, OffsetClock):
        raise SandboxOnlyRefused("the jobs run on their own outside sandbox mode")
    done = await run_jobs(ctx.pool, ctx.clock)
    ctx.wake_outbox()
    return JobsOut(
        holds_released=done.holds_released,
        lots_expired=done.lots_expired,
        notices_sent=done.notices_sent,
        refunds_settled=done.refunds_settled,
    )
