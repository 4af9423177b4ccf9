"""How the web app says things: amounts from the API's decimal strings, outcomes of orders,
durations and rates; and that the API client turns a missing route into "not available yet"."""

from __future__ import annotations

from paystream.web.api import WAITS_FOR, Unavailable
from paystream.web.views import dt, duration, money, outcome, percent, seconds


def test_amounts_are_grouped_from_the_decimal_string_never_a_float() -> None:
    assert money({"value": "1234567.50", "currency": "CNY"}) == "CNY 1,234,567.50"
    assert money({"value": "14.000123", "currency": "USDT"}) == "USDT 14.000123"
    assert money({"value": "1500", "currency": "JPY"}) == "JPY 1,500"
    assert money({"value": "-25.00", "currency": "EUR"}) == "EUR -25.00"
    assert money(None) == ""


def test_each_order_status_has_its_result_page() -> None:
    assert outcome("paid") == "success"
    assert outcome("partially_refunded") == "success"
    assert outcome("refunded") == "success"
    assert outcome("pending") == "pending"
    assert outcome("pending", left_payment_page=True) == "left"
    assert outcome("cancelled") == "cancelled"
    assert outcome("expired") == "expired"
    assert outcome("failed") == "failed"
    assert outcome("needs_review") == "pending"  # a state checkout may add: still waiting


def test_dates_durations_rates() -> None:
    assert dt("2026-03-01T12:05:00+08:00") == "2026-03-01 04:05 UTC"
    assert seconds(None) == "-"
    assert seconds(1.25) == "1.2 s"
    assert seconds(600) == "10.0 min"
    assert percent(0.6) == "60%"
    assert percent(None) == "-"


def test_unavailable_is_falsy_and_names_its_api() -> None:
    u = Unavailable(WAITS_FOR["lots"])
    assert not u
    assert "GET /v1/lots" in u.api


def test_durations_of_a_proration() -> None:
    assert duration(14 * 86_400) == "14 days"
    assert duration(86_400 + 3_600) == "1 day 1 h"
    assert duration(3_600) == "1 h 0 min"
    assert duration(59) == "0 h 0 min"
    assert duration(-5) == "0 h 0 min"
