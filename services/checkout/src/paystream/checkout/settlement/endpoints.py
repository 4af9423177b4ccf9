"""The daily settlement on demand (admin): what `paystream reconcile --date` calls.

Refusals (status, code): 401 unauthorized, 403 forbidden (not an admin); 422 date_in_future (the
day has not begun for a provider), 422 provider_not_configured, 422 validation_error; 502
provider_unavailable (the provider's settlement data could not be fetched or read).
"""

from __future__ import annotations

from fastapi import APIRouter

from paystream.checkout.context import Context, error_doc
from paystream.checkout.settlement import service
from paystream.checkout.settlement.schemas import SettlementIn, SettlementReport
from paystream.shared.auth import AdminPrincipal

router = APIRouter(prefix="/v1/admin/settlements", tags=["settlement"])


@router.post(
    "",
    response_model=SettlementReport,
    summary="Match a day's provider settlement data against paid orders and refunds (admin)",
    responses={
        **error_doc(401, "unauthorized", "no or invalid bearer token"),
        **error_doc(403, "forbidden", "not an admin"),
        **error_doc(422, "date_in_future", "the day has not begun (or provider_not_configured)"),
        **error_doc(502, "provider_unavailable", "the settlement data could not be fetched"),
    },
)
async def run_settlement(body: SettlementIn, ctx: Context, _: AdminPrincipal) -> SettlementReport:
    sources = service.sources(ctx.providers, body.providers)
    days = await service.settle(ctx.pool, sources, body.date)
    return SettlementReport.of(body.date, days)
