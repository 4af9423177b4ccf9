"""JWT bearer auth (HS256): `sub` is the user id, `role: "admin"` grants operator rights."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from paystream.shared.errors import Forbidden, Unauthorized


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    is_admin: bool = False


def make_token(user_id: str, secret: str, *, role: str | None = None, ttl_s: int = 3600) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": user_id, "iat": now, "exp": now + ttl_s}
    if role:
        claims["role"] = role
    return jwt.encode(claims, secret, algorithm="HS256")


@functools.lru_cache(maxsize=16384)
def _verified(token: str, secret: str) -> tuple[Principal, float | None, float | None]:
    """The token's signature and claims, checked once per token: a client sends the same token
    with every request until it expires, and the HMAC check cost more than the rest of a spend.
    What changes with time (exp, nbf) is checked on every use by `decode_token`. Errors are not
    cached (lru_cache keeps only returned values)."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        options={"require": ["sub"], "verify_exp": False, "verify_nbf": False},
    )
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("token has no subject")
    exp, nbf = claims.get("exp"), claims.get("nbf")
    for name, value in (("exp", exp), ("nbf", nbf)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise jwt.DecodeError(f"{name} claim must be a number")
    return Principal(user_id=sub, is_admin=claims.get("role") == "admin"), exp, nbf


def decode_token(token: str, secret: str) -> Principal:
    try:
        principal, exp, nbf = _verified(token, secret)
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    now = time.time()
    # PyJWT's own rules: expired from the second of `exp` on; not valid before `nbf`.
    if exp is not None and exp <= now:
        raise Unauthorized("token expired")
    if nbf is not None and nbf > now:
        raise Unauthorized("invalid token: The token is not yet valid (nbf)")
    return principal


# Declares the bearer scheme in the OpenAPI documents (the Authorize button of /docs, and the
# token generated clients send); it only reads the header: a missing or non-bearer one gives
# None, answered below with the service's own 401.
bearer = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="A JWT whose `sub` is the user id; `role: admin` for operator endpoints.",
    auto_error=False,
)


# Dependencies are coroutines: FastAPI runs a plain `def` dependency in its thread pool, a hop
# that cost more than everything else of a request on the ledger's spend path.
async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials.strip():
        raise Unauthorized("missing bearer token")
    secret: str = request.app.state.jwt_secret
    return decode_token(credentials.credentials.strip(), secret)


async def admin(p: Annotated[Principal, Depends(principal)]) -> Principal:
    if not p.is_admin:
        raise Forbidden("admin role required")
    return p


CurrentPrincipal = Annotated[Principal, Depends(principal)]
AdminPrincipal = Annotated[Principal, Depends(admin)]
