"""JWT bearer auth (HS256): `sub` is the user id, `role: "admin"` grants operator rights."""

from __future__ import annotations

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


def decode_token(token: str, secret: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("token has no subject")
    return Principal(user_id=sub, is_admin=claims.get("role") == "admin")


# Declares the bearer scheme in the OpenAPI documents (the Authorize button of /docs, and the
# token generated clients send); it only reads the header: a missing or non-bearer one gives
# None, answered below with the service's own 401.
bearer = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="A JWT whose `sub` is the user id; `role: admin` for operator endpoints.",
    auto_error=False,
)


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials.strip():
        raise Unauthorized("missing bearer token")
    secret: str = request.app.state.jwt_secret
    return decode_token(credentials.credentials.strip(), secret)


def admin(p: Annotated[Principal, Depends(principal)]) -> Principal:
    if not p.is_admin:
        raise Forbidden("admin role required")
    return p


CurrentPrincipal = Annotated[Principal, Depends(principal)]
AdminPrincipal = Annotated[Principal, Depends(admin)]
