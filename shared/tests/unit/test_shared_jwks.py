"""Tokens of a product's identity provider (issue 10): RS256 / ES256 verified against a JWKS URL
served by a local HTTP server whose keys rotate; exp required, blank sub refused, iss / aud
checked when configured, the role claim configurable; and the refusal to start with development
secrets outside sandbox mode."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import APIRouter
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from paystream.shared.auth import AdminPrincipal, CurrentPrincipal, make_token
from paystream.shared.http import create_app
from paystream.shared.settings import DEV_JWT_SECRET, BaseServiceSettings

SECRET = "hs256-secret-for-the-jwks-tests-0123456789abcdef"


class Jwks:
    """A JWKS endpoint on 127.0.0.1 whose key set the test replaces (a rotation)."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                body = json.dumps({"keys": owner.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, *keys: tuple[str, Any]) -> None:
        out = []
        for kid, key in keys:
            algo = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
            jwk = json.loads(algo.to_jwk(key.public_key()))
            jwk.update(kid=kid, use="sig")
            out.append(jwk)
        self.keys = out


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    server = Jwks()
    yield server
    server.server.shutdown()


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _sign(key: Any, kid: str, **claims: Any) -> str:
    alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    body = {"sub": "idp-user-1", "exp": int(time.time()) + 600, **claims}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def _client(**settings: Any) -> httpx.AsyncClient:
    router = APIRouter()

    @router.get("/v1/me")
    async def me(who: CurrentPrincipal) -> dict[str, Any]:
        return {"user": who.user_id, "admin": who.is_admin}

    @router.get("/v1/admin/ping")
    async def ping(_: AdminPrincipal) -> dict[str, str]:
        return {"ok": "yes"}

    s = BaseServiceSettings(service_name="t", jwt_secret=SECRET, **settings)
    app = create_app(title="t", settings=s, lifespan=None)
    app.include_router(router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_rs256_and_es256_tokens_are_verified_with_the_jwks_and_keys_rotate(
    jwks: Jwks,
) -> None:
    first, ec_key = _rsa(), ec.generate_private_key(ec.SECP256R1())
    jwks.publish(("k1", first), ("e1", ec_key))
    async with _client(jwt_jwks_url=jwks.url, jwt_jwks_refetch_cooldown_s=0) as http:
        r = await http.get("/v1/me", headers=_bearer(_sign(first, "k1")))
        assert r.json() == {"user": "idp-user-1", "admin": False}
        r = await http.get("/v1/me", headers=_bearer(_sign(ec_key, "e1", sub="ec-user")))
        assert r.json()["user"] == "ec-user"
        fetched = jwks.fetches
        # Cached: more tokens of known keys fetch nothing.
        for i in range(3):
            ok = await http.get("/v1/me", headers=_bearer(_sign(first, "k1", sub=f"u{i}")))
            assert ok.status_code == 200
        assert jwks.fetches == fetched
        # The provider rotates: a new kid is fetched once, without a restart; the retired key's
        # new tokens are refused.
        second = _rsa()
        jwks.publish(("k2", second))
        r = await http.get("/v1/me", headers=_bearer(_sign(second, "k2", sub="after")))
        assert (r.status_code, r.json()["user"]) == (200, "after")
        assert jwks.fetches == fetched + 1
        forged = await http.get("/v1/me", headers=_bearer(_sign(_rsa(), "k2")))
        assert forged.status_code == 401
        # Outside sandbox mode, with a JWKS configured, HS256 tokens are not accepted.
        hs = await http.get("/v1/me", headers=_bearer(make_token("u", SECRET)))
        assert hs.status_code == 401


async def test_exp_is_required_and_a_blank_sub_is_refused(jwks: Jwks) -> None:
    key = _rsa()
    jwks.publish(("k1", key))
    no_exp = jwt.encode({"sub": "x"}, key, algorithm="RS256", headers={"kid": "k1"})
    async with _client(jwt_jwks_url=jwks.url) as http:
        for token in (no_exp, _sign(key, "k1", sub="  "), _sign(key, "k1", sub="")):
            r = await http.get("/v1/me", headers=_bearer(token))
            assert r.status_code == 401, token
        expired = _sign(key, "k1", exp=int(time.time()) - 5)
        assert (await http.get("/v1/me", headers=_bearer(expired))).status_code == 401
    hs_no_exp = jwt.encode({"sub": "x"}, SECRET, algorithm="HS256")
    async with _client() as http:
        assert (await http.get("/v1/me", headers=_bearer(hs_no_exp))).status_code == 401


async def test_issuer_and_audience_are_checked_when_configured(jwks: Jwks) -> None:
    key = _rsa()
    jwks.publish(("k1", key))
    async with _client(
        jwt_jwks_url=jwks.url, jwt_issuer="https://idp.example/", jwt_audience="paystream"
    ) as http:
        good = _sign(key, "k1", iss="https://idp.example/", aud="paystream")
        assert (await http.get("/v1/me", headers=_bearer(good))).status_code == 200
        for claims in (
            {"iss": "https://other.example/", "aud": "paystream"},
            {"iss": "https://idp.example/", "aud": "another-api"},
            {"aud": "paystream"},
            {"iss": "https://idp.example/"},
        ):
            r = await http.get("/v1/me", headers=_bearer(_sign(key, "k1", **claims)))
            assert r.status_code == 401, claims


async def test_the_role_claim_and_admin_value_are_configurable(jwks: Jwks) -> None:
    key = _rsa()
    jwks.publish(("k1", key))
    async with _client(
        jwt_jwks_url=jwks.url, jwt_role_claim="https://acme.example/role", jwt_admin_value="ops"
    ) as http:
        ops = _sign(key, "k1", **{"https://acme.example/role": "ops"})
        assert (await http.get("/v1/admin/ping", headers=_bearer(ops))).status_code == 200
        not_ops = _sign(key, "k1", role="admin")  # the default claim means nothing here
        assert (await http.get("/v1/admin/ping", headers=_bearer(not_ops))).status_code == 403


async def test_hs256_stays_for_development_in_sandbox_mode_beside_the_jwks(jwks: Jwks) -> None:
    key = _rsa()
    jwks.publish(("k1", key))
    async with _client(jwt_jwks_url=jwks.url, sandbox=True) as http:
        hs = await http.get("/v1/me", headers=_bearer(make_token("dev", SECRET, role="admin")))
        assert hs.json() == {"user": "dev", "admin": True}
        rs = await http.get("/v1/me", headers=_bearer(_sign(key, "k1")))
        assert rs.status_code == 200


@pytest.mark.parametrize("secret", [DEV_JWT_SECRET, "short-secret", ""])
def test_development_or_short_secrets_refuse_to_start_outside_sandbox(secret: str) -> None:
    settings = BaseServiceSettings(jwt_secret=secret, sandbox=False)
    with pytest.raises(SystemExit, match="PAYSTREAM_JWT_SECRET"):
        settings.refuse_development_secrets()
    BaseServiceSettings(jwt_secret=secret, sandbox=True).refuse_development_secrets()


def test_real_secrets_start_and_a_jwks_only_service_needs_no_hs256_secret() -> None:
    BaseServiceSettings(jwt_secret="x" * 32, sandbox=False).refuse_development_secrets()
    jwks_only = BaseServiceSettings(jwt_jwks_url="https://idp.example/jwks", sandbox=False)
    jwks_only.refuse_development_secrets()
