"""The daily settlement (issue 15), end to end: orders paid and refunded through the Alipay and
WeChat Pay fakes, the fake's bill made to disagree (one payment's amount differs, one payment
left out, one line paystream never heard of), then `paystream reconcile --date` run as an
operator runs it, against checkout over HTTP. Also the bad input (a day not begun, a provider
that publishes no settlement data) and `paystream reconcile status`.

The fakes share the session with other tests: the report is checked exactly on this test's
own lines (by reference), and for the rest only that they are in it.
"""

from __future__ import annotations

import asyncio
import csv
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from paystream.cli.main import app
from paystream.devtools.client import JWT_SECRET, Harness
from paystream.devtools.stack import Stack
from paystream.shared.providers.alipay import CHINA_TZ

pytestmark = pytest.mark.e2e


def _user() -> str:
    return f"e2e-settle-{uuid.uuid4().hex[:10]}"


async def _cli(stack: Stack, *args: str) -> tuple[int, Any]:
    env = {
        "PAYSTREAM_CHECKOUT_URL": stack.urls["checkout"],
        "PAYSTREAM_JWT_SECRET": JWT_SECRET,
    }
    result = await asyncio.to_thread(
        CliRunner().invoke, app, [*args, "--local-operator", "--json"], env=env
    )
    return result.exit_code, json.loads(result.stdout)


async def _away_from_midnight() -> date:
    """The providers' day (Beijing); a test that began a second before midnight would see its
    payments on two days, so it waits for the new day instead."""
    now = datetime.now(CHINA_TZ)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    if midnight - now < timedelta(seconds=90):
        await asyncio.sleep((midnight - now).total_seconds() + 1)
    return datetime.now(CHINA_TZ).date()


async def _paid(h: Harness, stack: Stack, method: str) -> dict[str, Any]:
    user = _user()
    order = await h.create_order(user, "standard", method=method)
    assert stack.sandbox is not None
    if method.startswith("alipay"):
        url = f"{stack.sandbox.url('fake-alipay')}/_fake/trades/{order['provider_session_id']}/pay"
    else:
        url = (
            f"{stack.sandbox.url('fake-wechatpay')}/_fake/transactions/"
            f"{order['provider_session_id']}/pay"
        )
    assert (await h.http.post(url)).status_code == 200

    async def invoiced() -> bool:
        o = (await h.order(user, order["order_id"])).json()
        return o["status"] == "paid" and len(await h.invoices(user, order["order_id"])) == 1

    await h.eventually(invoiced, timeout_s=45)
    order["user_id"] = user
    return order


def _minor(order: dict[str, Any]) -> int:
    value = order["amount"]["value"]
    whole, _, frac = value.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


@pytest.mark.parametrize(
    ("method", "provider"), [("alipay_qr", "alipay"), ("wechat_pay_native", "wechatpay")]
)
async def test_a_day_with_one_missing_and_one_differing_line_is_reported_exactly(
    harness: Harness, stack: Stack, tmp_path: Path, method: str, provider: str
) -> None:
    h = harness
    assert stack.sandbox is not None
    fake = stack.sandbox.url("fake-alipay" if provider == "alipay" else "fake-wechatpay")
    day = await _away_from_midnight()
    matched, differs, left_out = [await _paid(h, stack, method) for _ in range(3)]
    r = await h.refund(matched["order_id"], {"value": "3.00", "currency": "CNY"})
    assert r.status_code == 201, r.json()
    refund = r.json()

    async def refunded() -> bool:
        got = await h.http.get(
            f"{h.urls['checkout']}/v1/refunds/{refund['refund_id']}",
            headers=h.auth("e2e-admin", admin=True),
        )
        return bool(got.json()["status"] == "succeeded")

    await h.eventually(refunded, timeout_s=45)

    async def credit_noted() -> bool:
        return len(await h.credit_notes(matched["user_id"], matched["order_id"])) == 1

    await h.eventually(credit_noted, timeout_s=45)
    refund_ref = (
        await h.http.get(
            f"{h.urls['checkout']}/v1/refunds/{refund['refund_id']}",
            headers=h.auth("e2e-admin", admin=True),
        )
    ).json()["provider_refund_id"]
    stranger = f"X{uuid.uuid4().hex[:20]}"
    # The edits stay in the shared fake until undone, whatever the test finds.
    try:
        edit = await h.http.post(
            f"{fake}/_fake/bill/edits",
            json={
                "amounts": {differs["provider_session_id"]: _minor(differs) - 1},
                "omit": [left_out["provider_session_id"]],
                "extra": [
                    {
                        "kind": "payment",
                        "reference": stranger,
                        "amount_minor": 4321,
                        "at": datetime.now(UTC).isoformat(),
                    }
                ],
            },
        )
        assert edit.status_code == 200, edit.text

        out = tmp_path / "report.csv"
        code, report = await _cli(
            stack, "reconcile", "--date", day.isoformat(), "--provider", provider, "--csv", str(out)
        )
        assert code == 1, report  # a difference: non-zero
        assert report["ok"] is False
        ours = {
            matched["provider_session_id"]: (
                "payment",
                "matched",
                _minor(matched),
                _minor(matched),
            ),
            differs["provider_session_id"]: (
                "payment",
                "amount_differs",
                _minor(differs) - 1,
                _minor(differs),
            ),
            left_out["provider_session_id"]: (
                "payment",
                "missing_at_provider",
                None,
                _minor(left_out),
            ),
            stranger: ("payment", "missing_in_paystream", 4321, None),
            refund_ref: ("refund", "matched", 300, 300),
        }
        got = {
            x["reference"]: (
                x["kind"],
                x["outcome"],
                x["provider_amount_minor"],
                x["booked_amount_minor"],
            )
            for x in report["lines"]
            if x["reference"] in ours
        }
        assert got == ours
        by_ref = {x["reference"]: x for x in report["lines"]}
        # Fees: 0.6 % on what the provider settled, given back in proportion on a refund.
        for ref, (kind, outcome, amount, _) in ours.items():
            fee = by_ref[ref]["fee_minor"]
            if outcome == "missing_at_provider":
                assert fee is None
            else:
                assert amount is not None
                expected = (amount * 6 + 500) // 1000
                assert fee == (-expected if kind == "refund" else expected), by_ref[ref]
        assert by_ref[matched["provider_session_id"]]["order_id"] == matched["order_id"]
        assert by_ref[refund_ref]["refund_id"] == refund["refund_id"]
        # Each payment and refund paystream booked has its invoice / credit note, of what it booked.
        documents = {ref: by_ref[ref]["document_outcome"] for ref in ours}
        assert documents == {
            matched["provider_session_id"]: "matched",
            differs["provider_session_id"]: "matched",
            left_out["provider_session_id"]: "matched",
            stranger: None,
            refund_ref: "matched",
        }
        assert by_ref[refund_ref]["document"].startswith("CN-")
        (summary,) = report["providers"]
        assert summary["provider"] == provider
        counts = summary["counts"]
        assert counts["amount_differs"] >= 1
        assert counts["missing_at_provider"] >= 1
        assert counts["missing_in_paystream"] >= 1
        assert counts["matched"] >= 2
        assert sum(counts.values()) == len(report["lines"])
        assert summary["fees_minor"]["CNY"] == sum(
            x["fee_minor"] or 0 for x in report["lines"] if x["provider"] == provider
        )

        # The CSV holds every line, as the report does.
        with out.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == len(report["lines"])
        csv_ours = {
            row["reference"]: (row["kind"], row["outcome"])
            for row in rows
            if row["reference"] in ours
        }
        assert csv_ours == {ref: v[:2] for ref, v in ours.items()}

        # The figures are metrics too.
        metrics = (await h.http.get(f"{h.urls['checkout']}/metrics")).text
        line = f'paystream_settlement_lines{{outcome="missing_in_paystream",provider="{provider}"}}'
        assert line in metrics

    finally:
        await h.http.delete(f"{fake}/_fake/bill/edits")
    # Run again without the edits: the same day's comparison is replaced, our lines now agree.
    code, again = await _cli(
        stack, "reconcile", "--date", day.isoformat(), "--provider", provider, "--csv", str(out)
    )
    agreed = {x["reference"]: x["outcome"] for x in again["lines"] if x["reference"] in ours}
    assert agreed == {
        matched["provider_session_id"]: "matched",
        differs["provider_session_id"]: "matched",
        left_out["provider_session_id"]: "matched",
        refund_ref: "matched",
    }


async def test_settlement_refuses_a_day_not_begun_and_a_provider_without_settlement(
    stack: Stack, tmp_path: Path
) -> None:
    tomorrow = datetime.now(CHINA_TZ).date() + timedelta(days=1)
    code, doc = await _cli(
        stack, "reconcile", "--date", tomorrow.isoformat(), "--csv", str(tmp_path / "x.csv")
    )
    assert code == 2, doc
    assert "date_in_future" in doc["error"]["message"]
    code, doc = await _cli(stack, "reconcile", "--date", "2026-12-01", "--provider", "usdt_trc20")
    assert code == 2, doc
    assert "provider_not_configured" in doc["error"]["message"]
    code, doc = await _cli(stack, "reconcile", "--date", "2026-13-01")
    assert code == 2, doc
    assert not (tmp_path / "x.csv").exists()


async def test_reconcile_status_shows_a_pending_order_under_check(
    harness: Harness, stack: Stack
) -> None:
    h = harness
    order = await h.create_order(_user(), "trial", method="alipay_qr")

    async def asked() -> dict[str, Any] | None:
        code, doc = await _cli(stack, "reconcile", "status", "--limit", "500")
        assert code == 0, doc
        mine = [x for x in doc["items"] if x["id"] == order["order_id"]]
        # Claimed (attempts) first, the provider's answer recorded after it came.
        return mine[0] if mine and mine[0]["last_result"] is not None else None

    # The reconciler asks about orders older than 8 s here (tests/e2e/conftest.py).
    item = await h.eventually(asked, timeout_s=45)
    assert item["kind"] == "order"
    assert item["provider"] == "alipay"
    assert item["last_result"] == "open"  # nobody scanned the QR code
    assert item["attempts"] >= 1
    assert item["next_check_at"] is not None


async def test_a_stripe_day_is_matched_by_payment_intent_with_its_fees(
    harness: Harness, stack: Stack, tmp_path: Path
) -> None:
    # stripe-mock keeps no balance, so the test records what Stripe's balance would hold at the
    # balance fake (devtools/fakes/stripe_balance.py): two of three payments, one of them with a
    # different amount, and a charge paystream never saw.
    h = harness
    assert stack.sandbox is not None
    fake = stack.sandbox.url("fake-stripe-balance")
    day = datetime.now(UTC).date()
    if datetime.now(UTC) + timedelta(seconds=90) >= datetime.combine(
        day + timedelta(days=1), datetime.min.time(), UTC
    ):
        await asyncio.sleep(91)
        day = datetime.now(UTC).date()
    orders = []
    for _ in range(3):
        user = _user()
        order = await h.create_order(user, "standard", method="stripe_checkout")
        pi = f"pi_{uuid.uuid4().hex[:24]}"
        r = await h.send_webhook(h.paid_event(order, user, payment_intent_id=pi))
        assert r.status_code == 200, r.text

        async def paid(user: str = user, order_id: str = order["order_id"]) -> bool:
            return bool((await h.order(user, order_id)).json()["status"] == "paid")

        await h.eventually(paid, timeout_s=45)
        orders.append((order, pi))
    (matched, m_pi), (differs, d_pi), (_, missing_pi) = orders
    stranger = f"pi_{uuid.uuid4().hex[:24]}"
    currency = matched["amount"]["currency"]
    for ref, minor in ((m_pi, _minor(matched)), (d_pi, _minor(differs) + 5), (stranger, 700)):
        r = await h.http.post(
            f"{fake}/_fake/balance_transactions",
            json={"kind": "payment", "reference": ref, "amount_minor": minor, "currency": currency},
        )
        assert r.status_code == 200, r.text

    code, report = await _cli(
        stack, "reconcile", "--date", day.isoformat(), "--provider", "stripe",
        "--csv", str(tmp_path / "stripe.csv"),
    )  # fmt: skip
    assert code == 1, report
    got = {
        x["reference"]: (x["outcome"], x["provider_amount_minor"], x["fee_minor"])
        for x in report["lines"]
        if x["reference"] in (m_pi, d_pi, missing_pi, stranger)
    }

    def fee(minor: int) -> int:
        return (minor * 29 + 500) // 1000 + 30  # the fake's 2.9 % + 30

    assert got == {
        m_pi: ("matched", _minor(matched), fee(_minor(matched))),
        d_pi: ("amount_differs", _minor(differs) + 5, fee(_minor(differs) + 5)),
        missing_pi: ("missing_at_provider", None, None),
        stranger: ("missing_in_paystream", 700, fee(700)),
    }
