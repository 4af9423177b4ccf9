"""The web app: server-rendered pages over the services' HTTP APIs, and the operator dashboard.

One request, one page: each handler asks the APIs (through `api.Api`, the only module that
knows their shapes) with the signed-in person's token and renders a template. A few lines of
JavaScript enhance pages that work without it (live order status, countdown, copy buttons).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import jwt
from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from paystream.shared import http as shared_http
from paystream.web import dashboard, ops, sandbox
from paystream.web.api import Api, ApiError
from paystream.web.settings import WebSettings
from paystream.web.views import (
    METHODS,
    STATUS_LABELS,
    dt,
    duration,
    money,
    outcome,
)

HERE = Path(__file__).resolve().parent
COOKIE = "paystream_token"
LIVE_STATES = frozenset({"pending"})


@dataclass(frozen=True, slots=True)
class Session:
    user_id: str
    is_admin: bool
    token: str


class SignInRequired(Exception):
    pass


class AdminRequired(Exception):
    pass


class PageError(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def read_session(request: Request) -> Session | None:
    """The signed-in person, from the token in the cookie. Decoded only to greet them and pick
    the pages to show: every service verifies the token itself on every call."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        claims = jwt.decode(
            token,
            options={"verify_signature": False, "require": ["sub", "exp"]},
            algorithms=["HS256"],
        )
    except jwt.PyJWTError:
        return None
    if int(claims["exp"]) <= int(datetime.now(UTC).timestamp()):
        return None
    return Session(str(claims["sub"]), claims.get("role") == "admin", token)


def session(request: Request) -> Session:
    s = read_session(request)
    if s is None:
        raise SignInRequired
    return s


def admin_session(s: Annotated[Session, Depends(session)]) -> Session:
    if not s.is_admin:
        raise AdminRequired
    return s


SessionDep = Annotated[Session, Depends(session)]
AdminDep = Annotated[Session, Depends(admin_session)]


def settings_of(request: Request) -> WebSettings:
    s: WebSettings = request.app.state.settings
    return s


def api_for(request: Request, s: Session | None) -> Api:
    return Api(request.app.state.http, settings_of(request), s.token if s else None)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        template,
        {
            "session": read_session(request),
            "sandbox": settings_of(request).web_sandbox,
            **context,
        },
        status_code=status,
    )


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


pages = APIRouter(include_in_schema=False)


# ---- sign in -------------------------------------------------------------------------------


@pages.get("/")
async def home(request: Request) -> RedirectResponse:
    return see_other("/account" if read_session(request) else "/signin")


@pages.get("/signin")
async def signin_page(request: Request, next: str = "/account") -> HTMLResponse:
    return render(request, "signin.html", next=_local(next))


def _local(url: str) -> str:
    """Only a path of this app may be a redirect target (no open redirect)."""
    return url if url.startswith("/") and not url.startswith("//") else "/account"


def _signed_in(response: RedirectResponse, token: str, s: WebSettings) -> RedirectResponse:
    # HttpOnly: no script reads it; SameSite=Lax: other sites cannot post forms with it, while
    # the provider's redirect back to the return page (a top-level GET) still carries it.
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=s.web_cookie_secure,
        max_age=8 * 3600,
    )
    return response


@pages.post("/signin")
async def signin(
    request: Request,
    user_id: Annotated[str, Form(max_length=64)] = "",
    admin: Annotated[bool, Form()] = False,
    token: Annotated[str, Form(max_length=4096)] = "",
    next: Annotated[str, Form(max_length=512)] = "/account",
) -> Response:
    s = settings_of(request)
    if token.strip():
        return _signed_in(see_other(_local(next)), token.strip(), s)
    if not s.web_sandbox:
        return render(
            request, "signin.html", status=400, next=next, error="Paste a token to sign in."
        )
    if not sandbox.USER_ID.match(user_id.strip()):
        return render(
            request,
            "signin.html",
            status=422,
            next=next,
            error="A user id is 1 to 64 letters, digits, '.', '_', '@' or '-'.",
        )
    minted = sandbox.mint_token(s, user_id.strip(), admin=admin)
    return _signed_in(see_other("/admin" if admin else _local(next)), minted, s)


@pages.post("/signout")
async def signout() -> RedirectResponse:
    response = see_other("/signin")
    response.delete_cookie(COOKIE)
    return response


# ---- account and buying ----------------------------------------------------------------------


@pages.get("/account")
async def account(request: Request, s: SessionDep) -> HTMLResponse:
    api = api_for(request, s)
    balances = await api.balances()
    lots = await api.lots()
    orders = (await api.orders(limit=5))["items"]
    return render(
        request, "account.html", balances=balances, lots=lots, orders=orders, nav="account"
    )


@pages.get("/buy")
async def buy_page(
    request: Request,
    s: SessionDep,
    currency: Annotated[str, Query(pattern=r"^[A-Za-z]{3,4}$")] = "CNY",
) -> HTMLResponse:
    return await render_buy(request, s, currency.upper())


async def render_buy(
    request: Request,
    s: Session,
    currency: str,
    *,
    status: int = 200,
    error: str | None = None,
    chosen: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
) -> HTMLResponse:
    """The buy page: packages, and the unit products sold by quantity or for a custom amount
    in `currency`. `field_errors` puts checkout's refusal next to the field it is about."""
    api = api_for(request, s)
    packages = await api.packages()
    products = await api.products()
    currencies = sorted(
        {p["currency"] for pkg in packages for p in pkg["prices"]}
        | {p["currency"] for prod in products for p in prod["prices"]}
    )
    offered = [
        {**pkg, "price_here": next(p for p in pkg["prices"] if p["currency"] == currency)}
        for pkg in packages
        if any(p["currency"] == currency for p in pkg["prices"])
    ]
    # Each product's price rules in this currency, as checkout lists them (shown, not used to
    # price: the quote is checkout's).
    here = [
        {**prod, "price_here": price}
        for prod in products
        for price in prod["prices"]
        if price["currency"] == currency
    ]
    methods = await api.payment_methods(currency)
    return render(
        request,
        "buy.html",
        status=status,
        nav="buy",
        currency=currency,
        currencies=currencies,
        packages=offered,
        by_quantity=[p for p in here if p["price_here"]["tiers"]],
        by_amount=[p for p in here if p["price_here"]["custom_amount"]],
        methods=methods,
        error=error,
        chosen=chosen or {},
        field_errors=field_errors or {},
        # A new key per form: a double submit is one order, a new visit another.
        idempotency_key=str(uuid.uuid4()),
    )


@pages.post("/buy")
async def buy(
    request: Request,
    s: SessionDep,
    currency: Annotated[str, Form(pattern=r"^[A-Za-z]{3,4}$")],
    idempotency_key: Annotated[str, Form(min_length=1, max_length=64)],
    package_id: Annotated[str, Form(max_length=64)] = "",
    payment_method: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    currency = currency.upper()
    chosen = {"package_id": package_id, "payment_method": payment_method}
    if not package_id or not payment_method:
        return await render_buy(
            request,
            s,
            currency,
            status=422,
            error="Choose a package and a payment method.",
            chosen=chosen,
        )
    base = settings_of(request).web_public_url.rstrip("/")
    try:
        order = await api_for(request, s).create_order(
            package_id=package_id,
            payment_method=payment_method,
            currency=currency,
            return_url=f"{base}/checkout/return",
            idempotency_key=f"web-{s.user_id}-{idempotency_key}",
        )
    except ApiError as exc:
        if 400 <= exc.status < 500:
            return await render_buy(
                request, s, currency, status=exc.status, error=exc.message, chosen=chosen
            )
        raise
    return see_other(f"/orders/{order['order_id']}/pay")


# ---- paying ----------------------------------------------------------------------------------


@pages.get("/orders/{order_id}/pay")
async def pay_page(request: Request, order_id: uuid.UUID, s: SessionDep) -> Response:
    order = await api_for(request, s).order(str(order_id))
    if order["status"] not in LIVE_STATES:
        return see_other(f"/orders/{order_id}/return")
    return render(
        request,
        "pay.html",
        order=order,
        method=METHODS.get(order["payment_method"], {}),
        stripe_publishable_key=settings_of(request).stripe_publishable_key,
    )


@pages.get("/orders/{order_id}/status")
async def order_status(request: Request, order_id: uuid.UUID, s: SessionDep) -> JSONResponse:
    """What the pay and return pages poll (same origin, the session cookie). A pending order is
    asked about at the provider too (checkout rate-limits that per order)."""
    api = api_for(request, s)
    order = await api.order(str(order_id))
    if order["status"] == "pending" and request.query_params.get("sync") == "1":
        order = await api.sync_order(str(order_id)) or order
    return JSONResponse(
        {
            "status": order["status"],
            "label": STATUS_LABELS.get(order["status"], order["status"]),
            "return_url": f"/orders/{order_id}/return",
        },
        headers={"Cache-Control": "no-store"},
    )


@pages.get("/orders/{order_id}/qr.svg")
async def order_qr(request: Request, order_id: uuid.UUID, s: SessionDep) -> Response:
    svg = await api_for(request, s).order_qr_svg(str(order_id))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private"})


@pages.post("/orders/{order_id}/cancel")
async def cancel(request: Request, order_id: uuid.UUID, s: SessionDep) -> RedirectResponse:
    try:
        await api_for(request, s).cancel_order(str(order_id))
    except ApiError as exc:
        # Paid (or ended) meanwhile: the return page says what happened instead.
        if exc.code != "order_not_cancellable":
            raise
    return see_other(f"/orders/{order_id}/return")


@pages.post("/orders/{order_id}/sandbox-pay")
async def sandbox_pay(request: Request, order_id: uuid.UUID, s: SessionDep) -> Response:
    cfg = settings_of(request)
    if not cfg.web_sandbox:
        raise PageError(404, "Not found", "This page exists only in sandbox mode.")
    order = await api_for(request, s).order(str(order_id))
    if order["status"] != "pending":
        return see_other(f"/orders/{order_id}/return")
    try:
        said = await sandbox.complete_payment(cfg, request.app.state.http, order)
    except httpx.HTTPError as exc:
        raise PageError(502, "The sandbox provider failed", repr(exc)) from None
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"done": said})
    return see_other(f"/orders/{order_id}/pay")


# ---- where the provider sends the payer back ---------------------------------------------------


@pages.get("/checkout/return")
async def provider_return(
    request: Request,
    order_id: Annotated[uuid.UUID | None, Query()] = None,
    out_trade_no: Annotated[uuid.UUID | None, Query()] = None,
    checkout: Annotated[str | None, Query(max_length=20)] = None,
) -> RedirectResponse:
    """Stripe adds `order_id` and `checkout=success|cancelled`; Alipay `out_trade_no`."""
    oid = order_id or out_trade_no
    if oid is None:
        raise PageError(422, "Unknown order", "This return link names no order.")
    suffix = "?checkout=cancelled" if checkout == "cancelled" else ""
    target = f"/orders/{oid}/return{suffix}"
    if read_session(request) is None:
        return see_other(f"/signin?next={quote(target)}")
    return see_other(target)


@pages.get("/orders/{order_id}/return")
async def order_result(
    request: Request,
    order_id: uuid.UUID,
    s: SessionDep,
    checkout: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    api = api_for(request, s)
    order = await api.order(str(order_id))
    if order["status"] == "pending" and checkout != "cancelled":
        # Back from the provider: its notification may be late or lost, so ask the provider
        # (the payment verification the success page needs) before saying "pending".
        order = await api.sync_order(str(order_id)) or order
    kind = outcome(order["status"], left_payment_page=checkout == "cancelled")
    invoices = await api.invoices(order_id=str(order_id)) if kind == "success" else []
    balances = await api.balances() if kind == "success" else []
    return render(
        request,
        "result.html",
        order=order,
        kind=kind,
        invoice=invoices[0] if invoices else None,
        balances=balances,
        method=METHODS.get(order["payment_method"], {}),
    )


# ---- history, documents, billing -------------------------------------------------------------


@pages.get("/history")
async def history(request: Request, s: SessionDep) -> HTMLResponse:
    api = api_for(request, s)
    lots = await api.lots()
    # The expiry of the lot each grant made, for the ledger table.
    lot_expiry = {x["id"]: x["expires_at"] for x in lots["items"]} if isinstance(lots, dict) else {}
    return render(
        request,
        "history.html",
        nav="history",
        orders=(await api.orders(limit=20))["items"],
        entries=await api.transactions(limit=20),
        lots=lots,
        lot_expiry=lot_expiry,
        invoices=await api.invoices(limit=20),
        credit_notes=await api.credit_notes(limit=20),
    )


async def _document(request: Request, s: Session, kind: str, document_id: uuid.UUID) -> Response:
    r = await api_for(request, s).document_pdf(kind, str(document_id))
    return Response(
        r.content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": r.headers.get("content-disposition", "attachment"),
            "Cache-Control": "private, max-age=300",
        },
    )


@pages.get("/invoices/{invoice_id}.pdf")
async def invoice_pdf(request: Request, invoice_id: uuid.UUID, s: SessionDep) -> Response:
    return await _document(request, s, "invoice", invoice_id)


@pages.get("/credit-notes/{credit_note_id}.pdf")
async def credit_note_pdf(request: Request, credit_note_id: uuid.UUID, s: SessionDep) -> Response:
    return await _document(request, s, "credit_note", credit_note_id)


@pages.get("/billing")
async def billing_page(request: Request, s: SessionDep, saved: bool = False) -> HTMLResponse:
    profile = await api_for(request, s).billing_profile()
    return render(request, "billing.html", nav="billing", profile=profile or {}, saved=saved)


@pages.post("/billing")
async def billing_save(
    request: Request,
    s: SessionDep,
    company_name: Annotated[str, Form(max_length=200)] = "",
    address: Annotated[str, Form(max_length=1000)] = "",
    tax_id: Annotated[str, Form(max_length=64)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
) -> Response:
    profile = {"company_name": company_name, "address": address, "tax_id": tax_id, "email": email}
    try:
        await api_for(request, s).save_billing_profile(profile)
    except ApiError as exc:
        if exc.status != 422:
            raise
        return render(
            request,
            "billing.html",
            status=422,
            nav="billing",
            profile=profile,
            error="Enter a company or full name (up to 200 characters), without control "
            "characters.",
        )
    return see_other("/billing?saved=1")


# ---- operators -------------------------------------------------------------------------------


@pages.get("/admin")
async def admin_dashboard(request: Request, s: AdminDep) -> HTMLResponse:
    api = api_for(request, s)
    payments = await api.payment_stats()
    revenue = await api.revenue_stats()
    unmatched = await api.unmatched_refunds()
    kafka = await ops.kafka_health(settings_of(request))
    return render(
        request,
        "admin.html",
        nav="admin",
        **dashboard.build(payments, revenue, kafka, unmatched),
    )


ops_api = APIRouter(prefix="/api/admin", tags=["operations"])


@ops_api.get(
    "/kafka",
    summary="Consumer lag per group and partition, and dead letters per DLQ topic (admin)",
    responses={
        401: {"description": "not signed in"},
        403: {"description": "not an admin"},
    },
)
async def kafka_state(request: Request, s: AdminDep) -> dict[str, Any]:
    return await ops.kafka_health(settings_of(request))


# ---- the app -----------------------------------------------------------------------------------


def create_app(settings: WebSettings | None = None) -> FastAPI:
    s = settings or WebSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=s.api_timeout_s) as client:
            app.state.http = client
            yield

    app = shared_http.create_app(
        title="paystream web",
        description="The reference web app and the operator dashboard; its JSON API is the "
        "operations view of Kafka (consumer lag, dead letters).",
        settings=s,
        lifespan=lifespan,
    )
    app.state.settings = s
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["money"] = money
    templates.env.filters["dt"] = dt
    templates.env.filters["duration"] = duration
    templates.env.globals["STATUS_LABELS"] = STATUS_LABELS
    templates.env.globals["METHODS"] = METHODS
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages)
    # Quotes on /buy and the plans pages (issue 11's purchases); imported here because they
    # use this module's session and rendering helpers.
    from paystream.web import plans, quotes

    app.include_router(quotes.router)
    app.include_router(plans.router)
    # Saved cards and auto-recharge (issue 12's APIs on issue 13's /cards page).
    from paystream.web import cards

    app.include_router(cards.router)
    # Completing an auto-recharge the bank wants confirmed (checkout's action URL leads here).
    from paystream.web import recharge

    app.include_router(recharge.router)
    app.include_router(ops_api)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    _error_pages(app)
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.endswith("/status")


def _error_pages(app: FastAPI) -> None:
    """Errors as pages a person can read (JSON under /api/), never a bare 500."""

    def page(request: Request, status: int, title: str, message: str) -> Response:
        if _wants_json(request):
            return JSONResponse(
                shared_http.error_body(title.lower().replace(" ", "_"), message),
                status_code=status,
            )
        return render(request, "error.html", status=status, title=title, message=message)

    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, _: SignInRequired) -> Response:
        if _wants_json(request):
            return page(request, 401, "Unauthorized", "sign in first")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return see_other(f"/signin?next={quote(target)}")

    @app.exception_handler(AdminRequired)
    async def _admin(request: Request, _: AdminRequired) -> Response:
        return page(request, 403, "Forbidden", "This page is for operators (an admin token).")

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        return page(request, exc.status, exc.title, exc.message)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        if exc.status == 401:
            response = await _signin(request, SignInRequired())
            response.delete_cookie(COOKIE)
            return response
        if exc.status == 404:
            return page(request, 404, "Not found", "There is nothing here for you.")
        if exc.status < 500:
            return page(request, exc.status, "Refused", exc.message)
        return page(
            request,
            502,
            "A service is unavailable",
            "paystream could not answer just now; try again in a moment.",
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = ", ".join(str(e.get("loc", ("",))[-1]) for e in exc.errors())
        return page(request, 422, "Invalid request", f"Check these fields: {fields}.")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return page(request, exc.status_code, title, str(exc.detail))
