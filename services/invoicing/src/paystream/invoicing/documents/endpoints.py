"""HTTP API of the documents: the caller's billing profile, and invoices and credit notes as PDFs
(their owner or an admin; another user's document is 404, as in the JSON API).

PDFs are rendered on request from what was stored at issue (amounts, lines, the buyer and seller
captured then), so the same document always says the same thing; rendering on issue would put
~0.3 s of CPU per invoice into the consumer's batch and store bytes nobody may ever ask for.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, FastAPI, Query, Request, Response

from paystream.invoicing.documents import repository as repo
from paystream.invoicing.documents import service as documents
from paystream.invoicing.documents.render import Fonts, render
from paystream.invoicing.documents.schemas import BillingProfileIn, BillingProfileOut
from paystream.invoicing.documents.service import seller_details
from paystream.invoicing.settings import InvoicingSettings
from paystream.shared.auth import CurrentPrincipal
from paystream.shared.errors import NotFound, PaystreamError
from paystream.shared.http import error_body

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1")


class BillingProfileNotFound(NotFound):
    code = "billing_profile_not_found"


class PdfUnavailable(PaystreamError):
    status_code = 503
    code = "pdf_unavailable"


@dataclass(frozen=True, slots=True)
class DocumentsContext:
    pool: asyncpg.Pool
    seller: dict[str, Any]
    fonts: Fonts | None
    fonts_error: str | None


async def start(app: FastAPI, pool: asyncpg.Pool, settings: InvoicingSettings) -> None:
    """Record the configured seller (documents issued from now on capture it) and check the
    fonts. Missing fonts do not stop invoicing: invoices are still issued, PDFs answer 503."""
    seller = seller_details(settings)
    await documents.record_seller(pool, seller)
    fonts: Fonts | None = None
    error: str | None = None
    try:
        fonts = Fonts(
            settings.pdf_font, settings.pdf_bold_font, settings.pdf_font_collection_number
        )
    except FileNotFoundError as exc:
        error = str(exc)
        log.error("pdf_fonts_missing", error=error)
    app.state.documents = DocumentsContext(pool, seller, fonts, error)


def _ctx(request: Request) -> DocumentsContext:
    ctx: DocumentsContext = request.app.state.documents
    return ctx


def _refuses(*pairs: tuple[int, str, str]) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": f"`{code}`: {why}",
            "content": {"application/json": {"example": error_body(code, why)}},
        }
        for status, code, why in pairs
    }


_UNAUTHORIZED = (401, "unauthorized", "missing, invalid or expired bearer token")
_PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "the PDF"}
}


def _subject(principal: CurrentPrincipal, user_id: str | None) -> str:
    if user_id is None or user_id == principal.user_id:
        return principal.user_id
    if principal.is_admin:
        return user_id
    raise BillingProfileNotFound("no billing profile for this user")


@router.get(
    "/billing-profile",
    response_model=BillingProfileOut,
    tags=["billing profile"],
    summary="The caller's billing profile (an admin may name a user)",
    responses=_refuses(
        _UNAUTHORIZED,
        (404, "billing_profile_not_found", "none saved yet (or another user's, not admin)"),
    ),
)
async def get_billing_profile(
    principal: CurrentPrincipal,
    request: Request,
    user_id: Annotated[str | None, Query(max_length=255, description="admins only")] = None,
) -> BillingProfileOut:
    subject = _subject(principal, user_id)
    profile = await documents.get_profile(_ctx(request).pool, subject)
    if profile is None:
        raise BillingProfileNotFound("no billing profile saved yet")
    return _out(profile)


@router.put(
    "/billing-profile",
    response_model=BillingProfileOut,
    tags=["billing profile"],
    summary="Save the caller's billing profile; invoices issued from now on carry it",
    responses=_refuses(
        _UNAUTHORIZED,
        (422, "validation_error", "missing company name, a field too long, control characters"),
    ),
)
async def put_billing_profile(
    body: BillingProfileIn, principal: CurrentPrincipal, request: Request
) -> BillingProfileOut:
    p = await documents.save_profile(
        _ctx(request).pool,
        principal.user_id,
        company_name=body.company_name,
        address=body.address,
        tax_id=body.tax_id,
        email=body.email,
    )
    return _out(p)


def _out(p: repo.BillingProfile) -> BillingProfileOut:
    return BillingProfileOut(
        user_id=p.user_id,
        company_name=p.company_name,
        address=p.address,
        tax_id=p.tax_id,
        email=p.email,
        updated_at=p.updated_at,
    )


async def _pdf(ctx: DocumentsContext, doc: Any, filename: str) -> Response:
    if ctx.fonts is None:
        raise PdfUnavailable(f"PDFs cannot be rendered: {ctx.fonts_error}")
    # ~0.3 s of CPU (reading the font): off the event loop, so other requests go on.
    body = await asyncio.to_thread(render, doc, ctx.fonts)
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, max-age=300",
        },
    )


@router.get(
    "/invoices/{invoice_id}/pdf",
    tags=["invoices"],
    summary="The invoice as a PDF (owner or admin)",
    response_class=Response,
    responses={
        **_PDF,
        **_refuses(
            _UNAUTHORIZED,
            (404, "not_found", "no such invoice, a malformed id, or another user's invoice"),
            (503, "pdf_unavailable", "the PDF fonts are not installed"),
        ),
    },
)
async def invoice_pdf(invoice_id: str, principal: CurrentPrincipal, request: Request) -> Response:
    ctx = _ctx(request)
    doc = await documents.invoice_pdf_document(ctx.pool, principal, invoice_id, ctx.seller)
    return await _pdf(ctx, doc, f"{doc.number}.pdf")


@router.get(
    "/credit-notes/{credit_note_id}/pdf",
    tags=["credit notes"],
    summary="The credit note as a PDF (owner or admin)",
    response_class=Response,
    responses={
        **_PDF,
        **_refuses(
            _UNAUTHORIZED,
            (404, "not_found", "no such credit note, a malformed id, or another user's"),
            (503, "pdf_unavailable", "the PDF fonts are not installed"),
        ),
    },
)
async def credit_note_pdf(
    credit_note_id: str, principal: CurrentPrincipal, request: Request
) -> Response:
    ctx = _ctx(request)
    doc = await documents.credit_note_pdf_document(ctx.pool, principal, credit_note_id, ctx.seller)
    return await _pdf(ctx, doc, f"{doc.number}.pdf")
