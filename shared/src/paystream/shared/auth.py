"""JWT bearer auth: `sub` is the user id, a role claim (`role: "admin"` by default) grants
operator rights.

HS256 with the shared secret is for development and products without an identity provider;
RS256 / ES256 tokens of a product's identity provider are verified against its JWKS URL with
PyJWT's `PyJWKClient` (keys cached, fetched again on an unknown `kid`, so a rotation needs no
restart). `exp` is required; `iss` and `aud` are checked when configured."""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass
from typing import Annotated, Any, Final

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt.types import Options

from paystream.shared.errors import Forbidden, Unauthorized

# User ids are at most this long everywhere they are stored or filtered on.
MAX_SUBJECT_LENGTH = 255


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


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """What a token must be, besides validly signed (from the service's settings)."""

    issuer: str | None = None
    audience: str | None = None
    role_claim: str = "role"
    admin_value: str = "admin"


DEFAULT_POLICY = TokenPolicy()


@functools.lru_cache(maxsize=16384)
def _verified(
    token: str, secret: str, policy: TokenPolicy = DEFAULT_POLICY
) -> tuple[Principal, float | None, float | None]:
    """The token's signature and claims, checked once per token: a client sends the same token
    with every request until it expires, and the HMAC check cost more than the rest of a spend.
    What changes with time (exp, nbf) is checked on every use by `decode_token`. Errors are not
    cached (lru_cache keeps only returned values)."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        issuer=policy.issuer,
        audience=policy.audience,
        options=_OPTIONS,
    )
    return _principal_of(claims, policy)


_OPTIONS: Final[Options] = {
    "require": ["sub", "exp"],
    "verify_exp": False,  # checked on every use, below
    "verify_nbf": False,
}


def _principal_of(
    claims: dict[str, Any], policy: TokenPolicy
) -> tuple[Principal, float | None, float | None]:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise Unauthorized("token has no subject")
    if len(sub) > MAX_SUBJECT_LENGTH or any(c < " " or "\x7f" <= c <= "\x9f" for c in sub):
        # A user id is stored and sent as text; PostgreSQL refuses NUL (a 500 before).
        raise Unauthorized("token subject is not a valid user id")
    exp, nbf = claims.get("exp"), claims.get("nbf")
    for name, value in (("exp", exp), ("nbf", nbf)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise jwt.DecodeError(f"{name} claim must be a number")
    is_admin = claims.get(policy.role_claim) == policy.admin_value
    return Principal(user_id=sub, is_admin=is_admin), exp, nbf


class JwksVerifier:
    """RS256 / ES256 tokens of an identity provider, verified with the keys of its JWKS URL."""

    def __init__(
        self, url: str, policy: TokenPolicy, *, cache_s: int = 300, refetch_cooldown_s: int = 30
    ) -> None:
        # The cooldown bounds how often tokens with made-up kids can make us fetch the set.
        self.client = jwt.PyJWKClient(
            url,
            cache_keys=True,
            lifespan=cache_s,
            timeout=10,
            cooldown_duration=refetch_cooldown_s,
        )
        self.policy = policy
        self._verified: dict[str, tuple[Principal, float | None, float | None]] = {}

    async def verify(self, token: str) -> tuple[Principal, float | None, float | None]:
        known = self._verified.get(token)
        if known is not None:
            return known
        # PyJWKClient fetches with urllib (blocking): off the event loop. A kid it does not know
        # makes it fetch the set again once (a rotated key).
        key = await asyncio.to_thread(self.client.get_signing_key_from_jwt, token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256", "ES256"],
            issuer=self.policy.issuer,
            audience=self.policy.audience,
            options=_OPTIONS,
        )
        verified = _principal_of(claims, self.policy)
        if len(self._verified) >= 16384:
            self._verified.clear()
        self._verified[token] = verified
        return verified


def decode_token(token: str, secret: str, policy: TokenPolicy = DEFAULT_POLICY) -> Principal:
    try:
        principal, exp, nbf = _verified(token, secret, policy)
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    return _still_valid(principal, exp, nbf)


async def decode_any(
    token: str, secret: str | None, policy: TokenPolicy, jwks: JwksVerifier | None
) -> Principal:
    """HS256 with the shared secret (when it is accepted), else the identity provider's JWKS."""
    try:
        alg = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    if alg == "HS256" and secret is not None:
        return decode_token(token, secret, policy)
    if jwks is None:
        raise Unauthorized(f"invalid token: algorithm {alg!r} is not accepted")
    try:
        principal, exp, nbf = await jwks.verify(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    return _still_valid(principal, exp, nbf)


def _still_valid(principal: Principal, exp: float | None, nbf: float | None) -> Principal:
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
async def authenticate(request: Request) -> Principal:
    """The caller of `request`, from its bearer token: 401 when it has none or a bad one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token")
    state = request.app.state
    jwks: JwksVerifier | None = getattr(state, "jwks", None)
    policy: TokenPolicy = getattr(state, "token_policy", DEFAULT_POLICY)
    secret: str | None = state.jwt_secret
    if jwks is None and policy is DEFAULT_POLICY and secret is not None:
        return decode_token(token, secret)  # the hot path of the default set-up
    return await decode_any(token, secret, policy, jwks)


async def principal(
    request: Request,
    # Declares the scheme in the OpenAPI documents; the header is read by `authenticate`.
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    return await authenticate(request)


async def admin(p: Annotated[Principal, Depends(principal)]) -> Principal:
    if not p.is_admin:
        raise Forbidden("admin role required")
    return p


CurrentPrincipal = Annotated[Principal, Depends(principal)]
AdminPrincipal = Annotated[Principal, Depends(admin)]
