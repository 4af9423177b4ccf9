"""Auto-recharge's rules: what each charge outcome does, the caps, the backoff, and how Stripe's
answers to an off-session charge are read."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from paystream.checkout.auto_recharge.domain import (
    AutoRechargeConfig,
    Purchase,
    RechargeStatus,
    Setting,
    Usage,
    backoff,
    cap_refusal,
    day_start,
    decide,
    month_start,
)
from paystream.checkout.providers.stripe_saved import ChargeResult, charge_outcome
from paystream.shared.money import Money

NOW = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)
CONFIG = AutoRechargeConfig(
    max_tries=3, backoff=timedelta(minutes=5), backoff_max=timedelta(minutes=12)
)


def setting(**over: object) -> Setting:
    base = Setting(
        user_id="u",
        unit="credits",
        enabled=True,
        status=RechargeStatus.ACTIVE,
        threshold=100,
        purchase=Purchase("standard", None, None, None, "USD"),
        payment_method_id=None,
        monthly_cap=Money(5000, "USD"),
        daily_count_cap=2,
        consent_text="yes",
        consent_at=NOW,
        last_error=None,
        action_url=None,
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(base, **over)  # type: ignore[arg-type]


def test_success_reactivates_and_announces() -> None:
    d = decide(ChargeResult.SUCCEEDED, 1, CONFIG)
    assert (d.attempt, d.setting, d.events) == ("succeeded", RechargeStatus.ACTIVE, ("succeeded",))


def test_authentication_stops_charging_until_the_user_acts() -> None:
    d = decide(ChargeResult.REQUIRES_ACTION, 1, CONFIG)
    assert d.attempt == "requires_action"  # still in flight: nothing else may charge
    assert d.setting is RechargeStatus.REQUIRES_ACTION
    assert d.events == ("requires_action",)


def test_hard_decline_disables_at_once() -> None:
    d = decide(ChargeResult.HARD_DECLINE, 1, CONFIG)
    assert (d.attempt, d.setting, d.events) == (
        "failed",
        RechargeStatus.DISABLED,
        ("failed", "disabled"),
    )
    assert d.retry_in is None


def test_transient_failure_retries_with_backoff_then_disables() -> None:
    first = decide(ChargeResult.TRANSIENT, 1, CONFIG)
    second = decide(ChargeResult.TRANSIENT, 2, CONFIG)
    assert (first.attempt, first.setting, first.retry_in) == (
        "retrying",
        None,
        timedelta(minutes=5),
    )
    assert second.retry_in == timedelta(minutes=10)
    last = decide(ChargeResult.TRANSIENT, 3, CONFIG)
    assert (last.attempt, last.setting, last.events) == (
        "failed",
        RechargeStatus.DISABLED,
        ("failed", "disabled"),
    )


def test_processing_waits_for_the_notification() -> None:
    d = decide(ChargeResult.PROCESSING, 1, CONFIG)
    assert (d.attempt, d.setting, d.events) == ("processing", None, ())


def test_backoff_is_capped() -> None:
    assert [backoff(n, CONFIG) for n in (1, 2, 3, 4)] == [
        timedelta(minutes=5),
        timedelta(minutes=10),
        timedelta(minutes=12),
        timedelta(minutes=12),
    ]


def test_caps() -> None:
    s = setting()
    assert cap_refusal(s, Money(2000, "USD"), Usage(month_minor=3000, today=1)) is None
    refused = cap_refusal(s, Money(2001, "USD"), Usage(month_minor=3000, today=1))
    assert refused is not None
    assert refused[0] == "monthly_cap_reached"
    refused = cap_refusal(s, Money(1, "USD"), Usage(month_minor=0, today=2))
    assert refused is not None
    assert refused[0] == "daily_count_cap_reached"
    refused = cap_refusal(s, Money(1, "EUR"), Usage(month_minor=0, today=0))
    assert refused is not None
    assert refused[0] == "currency_mismatch"


def test_calendar_windows_are_utc() -> None:
    assert month_start(NOW) == datetime(2026, 12, 1, tzinfo=UTC)
    assert day_start(NOW) == datetime(2026, 12, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("setting_over", "why"),
    [
        ({}, None),
        ({"enabled": False}, "auto-recharge is turned off"),
        ({"status": RechargeStatus.REQUIRES_ACTION}, "a charge waits for the user to authenticate"),
        ({"status": RechargeStatus.DISABLED}, "auto-recharge was disabled"),
    ],
)
def test_not_charging(setting_over: dict[str, object], why: str | None) -> None:
    assert setting(**setting_over).not_charging() == why


@pytest.mark.parametrize(
    ("kwargs", "result"),
    [
        ({"status": "succeeded"}, ChargeResult.SUCCEEDED),
        ({"status": "processing"}, ChargeResult.PROCESSING),
        ({"status": "requires_action"}, ChargeResult.REQUIRES_ACTION),
        ({"status": "canceled"}, ChargeResult.HARD_DECLINE),
        # Stripe's off-session answers for its test cards (docs.stripe.com/testing).
        (
            {"error_code": "authentication_required", "http_status": 402},
            ChargeResult.REQUIRES_ACTION,
        ),
        (
            {"error_code": "card_declined", "decline_code": "generic_decline", "http_status": 402},
            ChargeResult.HARD_DECLINE,
        ),
        (
            {"error_code": "expired_card", "http_status": 402},
            ChargeResult.HARD_DECLINE,
        ),
        (
            {"error_code": "card_declined", "decline_code": "lost_card", "http_status": 402},
            ChargeResult.HARD_DECLINE,
        ),
        (
            {
                "error_code": "card_declined",
                "decline_code": "insufficient_funds",
                "http_status": 402,
            },
            ChargeResult.TRANSIENT,
        ),
        ({"error_code": "rate_limit", "http_status": 429}, ChargeResult.TRANSIENT),
        ({"error_code": "api_error", "http_status": 500}, ChargeResult.TRANSIENT),
        ({"error_code": "resource_missing", "http_status": 400}, ChargeResult.HARD_DECLINE),
    ],
)
def test_charge_outcome(kwargs: dict[str, object], result: ChargeResult) -> None:
    assert charge_outcome(**kwargs).result is result  # type: ignore[arg-type]


def test_a_purchase_that_saves_its_card_asks_stripe_for_an_off_session_card() -> None:
    from paystream.checkout.providers import PaymentRequest
    from paystream.checkout.providers.stripe import payment_intent_params

    req = PaymentRequest(
        order_id="o",
        user_id="u",
        package_id="standard",
        package_name="Standard",
        credits=1100,
        amount=Money(10000, "CNY"),
        payment_method="stripe_payment_intent",
        return_url="https://shop.example/r",
        expires_at=NOW,
        save_for_customer="cus_1",
    )
    params = payment_intent_params(req)
    assert params["allowed_payment_method_types"] == ["card"]  # no Alipay / WeChat Pay
    assert (params["customer"], params["setup_future_usage"]) == ("cus_1", "off_session")
    assert "payment_method_options" not in params
    unsaved = payment_intent_params(replace_req(req))
    assert "setup_future_usage" not in unsaved
    assert "customer" not in unsaved


def replace_req(req: object) -> object:
    return replace(req, save_for_customer=None)  # type: ignore[type-var]
