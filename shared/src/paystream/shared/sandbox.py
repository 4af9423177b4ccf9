"""The sandbox endpoints every service mounts: read the service's clock, and (admin, sandbox mode
only) move it forward; the services share one sandbox time, so any of them moves it for all."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from paystream.shared.auth import AdminPrincipal, CurrentPrincipal
from paystream.shared.clock import Clock, ClockNotFollowed, InvalidDuration, OffsetClock
from paystream.shared.errors import Forbidden, ServiceUnavailable, Unprocessable

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"])


class SandboxOnlyRefused(Forbidden):
    code = "sandbox_only"


class InvalidDurationRefused(Unprocessable):
    code = "invalid_duration"


class ClockBehind(ServiceUnavailable):
    code = "clock_not_followed"


class ClockOut(BaseModel):
    sandbox: bool = Field(description="true when this service runs in sandbox mode")
    now: datetime = Field(description="the service's time (real time plus the sandbox offset)")
    offset_seconds: float = Field(description="how far the sandbox clock is ahead of real time")


class AdvanceIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"by": "P6M1D"}]}
    )

    by: str = Field(
        min_length=2,
        max_length=40,
        pattern=r"^P[0-9YMWDTHS.]+$",
        description="ISO 8601 duration, e.g. P6M1D or PT1H; months are calendar months",
        examples=["P6M1D"],
    )


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _out(clock: Clock) -> ClockOut:
    offset = clock.offset.total_seconds() if isinstance(clock, OffsetClock) else 0.0
    return ClockOut(sandbox=isinstance(clock, OffsetClock), now=clock.now(), offset_seconds=offset)


@router.get("/clock", response_model=ClockOut, summary="The service's clock")
async def get_clock(request: Request, _: CurrentPrincipal) -> ClockOut:
    return _out(_clock(request))


@router.post(
    "/clock/advance",
    response_model=ClockOut,
    summary="Move the sandbox clock forward, for every service (sandbox mode only)",
    responses={
        403: {"description": "`forbidden` (not an admin) or `sandbox_only` (not in sandbox mode)"},
        422: {"description": "`invalid_duration` or `validation_error`"},
        503: {"description": "`clock_not_followed`: the step was taken, not yet read back here"},
    },
)
async def advance_clock(request: Request, body: AdvanceIn, admin: AdminPrincipal) -> ClockOut:
    clock = _clock(request)
    if not isinstance(clock, OffsetClock):
        raise SandboxOnlyRefused("time travel is refused outside sandbox mode")
    try:
        await clock.advance(body.by, actor=admin.user_id)
    except InvalidDuration as exc:
        raise InvalidDurationRefused(str(exc)) from None
    except ClockNotFollowed as exc:
        raise ClockBehind(str(exc)) from None
    return _out(clock)
