"""Plans in the catalog, and the quote key and signatures: a tampered, foreign or expired token
is refused; checkout refuses to start outside sandbox mode with the default or a short key."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from paystream.checkout.catalog.domain import CatalogError, parse_catalog
from paystream.checkout.catalog.service import load_catalog
from paystream.checkout.quotes.signing import (
    DEV_QUOTE_KEY,
    InvalidQuoteKey,
    Signer,
    TokenExpired,
    TokenInvalid,
    check_quote_key,
)
from paystream.shared.money import Money

KEY = "unit-test-quote-key-0123456789abcdef"


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


def test_the_default_catalog_sells_basic_pro_vip_and_an_annual_pro() -> None:
    catalog = load_catalog()
    got = [(p.id, p.allowance, p.interval, p.price_in("CNY")) for p in catalog.plans]
    assert got == [
        ("basic", 3, "month", Money(0, "CNY")),
        ("pro", 20, "month", Money(2900, "CNY")),
        ("vip", 100, "month", Money(5900, "CNY")),
        ("pro_annual", 20, "year", Money(29000, "CNY")),
    ]
    assert catalog.default_plan is not None
    assert catalog.default_plan.id == "basic"
    assert all(p.unit == "receives" for p in catalog.plans)
    assert catalog.plan("vip") is not None
    assert catalog.plan("gold") is None


def _doc(*plans: dict[str, Any]) -> str:
    return json.dumps(
        {
            "units": [{"id": "receives", "name": "receives"}],
            "packages": [
                {
                    "id": "p",
                    "name": "P",
                    "credits": 1,
                    "price": {"value": "1.00", "currency": "CNY"},
                }
            ],
            "plans": list(plans),
        }
    )


BASIC = {"id": "basic", "name": "Basic", "unit": "receives", "allowance": 3}
PRO = {
    "id": "pro",
    "name": "Pro",
    "unit": "receives",
    "allowance": 20,
    "prices": [{"value": "29.00", "currency": "CNY"}],
    "rollover": {"cap": 10},
}


def test_plans_parse_with_a_rollover_cap() -> None:
    catalog = parse_catalog(_doc(BASIC, PRO))
    pro = catalog.plan("pro")
    assert pro is not None
    assert pro.rollover is not None
    assert pro.rollover.cap == 10


@pytest.mark.parametrize(
    ("plans", "problem"),
    [
        ((PRO,), "exactly one free plan"),
        ((BASIC, {**BASIC, "id": "free2"}), "exactly one free plan"),
        ((BASIC, {**PRO, "unit": "nope"}), "not one of the catalog's units"),
        ((BASIC, {**PRO, "allowance": 0}), "allowance must be a positive integer"),
        ((BASIC, {**PRO, "prices": [{"value": "0.00", "currency": "CNY"}]}), "a price is positive"),
        ((BASIC, {**PRO, "interval": "week"}), "interval"),
        ((BASIC, {**BASIC, "id": "b2", "interval": "year"}), "free plan renews monthly"),
        ((BASIC, PRO, {**PRO, "name": "Pro 2"}), "duplicate id"),
        ((BASIC, {**PRO, "id": "p"}), "ids shared by packages, products and plans: p"),
    ],
)
def test_a_bad_plan_stops_checkout_with_the_reason(
    plans: tuple[dict[str, Any], ...], problem: str
) -> None:
    with pytest.raises(CatalogError, match=problem):
        parse_catalog(_doc(*plans))


def test_the_quote_key_is_checked_outside_sandbox_mode_only() -> None:
    check_quote_key(DEV_QUOTE_KEY, sandbox=True)
    check_quote_key("short", sandbox=True)
    check_quote_key(KEY, sandbox=False)
    with pytest.raises(InvalidQuoteKey, match="development default"):
        check_quote_key(DEV_QUOTE_KEY, sandbox=False)
    with pytest.raises(InvalidQuoteKey, match="shorter than 32 bytes"):
        check_quote_key("x" * 31, sandbox=False)


def test_a_signed_token_round_trips_until_it_expires_on_checkout_s_clock() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)  # a sandbox clock far ahead of the real one
    clock = FixedClock(now)
    signer = Signer(KEY, clock)
    token = signer.sign("aud:a", {"amt": 3200}, expires_at=now + timedelta(minutes=15))
    assert signer.verify("aud:a", token)["amt"] == 3200
    clock.at = now + timedelta(minutes=15)
    with pytest.raises(TokenExpired):
        signer.verify("aud:a", token)


def _tamper(token: str) -> str:
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["amt"] = 1
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


def test_an_altered_foreign_or_misdirected_token_is_refused() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    signer = Signer(KEY, FixedClock(now))
    token = signer.sign("aud:a", {"amt": 3200}, expires_at=now + timedelta(minutes=5))
    with pytest.raises(TokenInvalid):
        signer.verify("aud:a", _tamper(token))
    with pytest.raises(TokenInvalid):
        Signer(KEY + "-other", FixedClock(now)).verify("aud:a", token)
    with pytest.raises(TokenInvalid):
        signer.verify("aud:b", token)  # a quote is not a preview, nor the reverse
    with pytest.raises(TokenInvalid):
        signer.verify("aud:a", "not-a-token")
