"""Billing profiles, PDFs of invoices and credit notes, and revenue statistics, through the real
app on a real PostgreSQL. The PDFs are read back as text and every field is checked, a Chinese
company name and address included; the buyer is the one captured when the document was issued."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import asyncpg
import pypdf
import pytest

from paystream.shared.events import Envelope, RefundSucceededV1, refund_event_id

pytestmark = pytest.mark.integration

SELLER = {
    "seller_name": "Paystream Demo GmbH",
    "seller_address": "Example Street 1\n10115 Berlin",
    "seller_tax_id": "DE123456789",
    "seller_email": "billing@seller.test",
    "tax_name": "VAT",
    "tax_rate_bp": 600,
}
BUYER = {
    "company_name": "北京示例科技有限公司",
    "address": "北京市朝阳区建国路88号\n100022 北京",
    "tax_id": "91110105MA01ABCD2X",
    "email": "cfo@example.cn",
}


def _text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _refund(order_id: str, user_id: str, amount: int, re: str) -> Envelope:
    return Envelope.wrap(
        RefundSucceededV1(
            order_id=order_id,
            user_id=user_id,
            refund_id=None,
            provider="stripe",
            provider_refund_id=re,
            amount_minor=amount,
            currency="CNY",
            reason="requested_by_customer",
            refunded_at=datetime(2026, 3, 5, 8, 0, tzinfo=UTC),
        ),
        source="paystream/test",
        subject=user_id,
        id=refund_event_id("succeeded", "stripe", re),
    )


async def test_billing_profile_is_saved_validated_and_private(
    invoicing_client, auth_headers
) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    async with invoicing_client() as (_, http):
        r = await http.get("/v1/billing-profile", headers=auth_headers(user))
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "billing_profile_not_found"
        assert (await http.get("/v1/billing-profile")).status_code == 401

        r = await http.put("/v1/billing-profile", headers=auth_headers(user), json=BUYER)
        assert r.status_code == 200, r.text
        assert r.json() == {**BUYER, "user_id": user, "updated_at": r.json()["updated_at"]}
        got = await http.get("/v1/billing-profile", headers=auth_headers(user))
        assert got.json()["company_name"] == BUYER["company_name"]

        for bad in (
            {**BUYER, "company_name": "   "},
            {**BUYER, "company_name": "x" * 201},
            {**BUYER, "tax_id": "bad\x00id"},
            {**BUYER, "unknown": 1},
            {"address": "no name"},
        ):
            r = await http.put("/v1/billing-profile", headers=auth_headers(user), json=bad)
            assert r.status_code == 422, bad
            assert r.json()["error"]["code"] == "validation_error"

        # Someone else's profile does not exist for you; an admin may read it.
        other = await http.get(
            "/v1/billing-profile", headers=auth_headers("mallory"), params={"user_id": user}
        )
        assert other.status_code == 404
        admin = await http.get(
            "/v1/billing-profile", headers=auth_headers("op", admin=True), params={"user_id": user}
        )
        assert admin.status_code == 200
        assert admin.json()["tax_id"] == BUYER["tax_id"]


async def test_invoice_pdf_shows_every_field_with_the_buyer_captured_at_issue(
    invoicing_client, auth_headers, apply_batch, make_paid, make_envelope, invoicing_pool
) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    order = str(uuid.uuid4())
    async with invoicing_client(**SELLER) as (_, http):
        r = await http.put("/v1/billing-profile", headers=auth_headers(user), json=BUYER)
        assert r.status_code == 200
        paid = make_paid(order, user_id=user, paid_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
        await apply_batch([make_envelope(paid, user_id=user)])
        # Edited after the invoice was issued: the invoice keeps the buyer it was issued to.
        r = await http.put(
            "/v1/billing-profile",
            headers=auth_headers(user),
            json={**BUYER, "company_name": "Renamed Ltd", "tax_id": "NEW-1"},
        )
        assert r.status_code == 200

        invoice = (
            await http.get("/v1/invoices", headers=auth_headers(user), params={"order_id": order})
        ).json()["items"][0]
        r = await http.get(f"/v1/invoices/{invoice['id']}/pdf", headers=auth_headers(user))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        assert f'filename="{invoice["number"]}.pdf"' in r.headers["content-disposition"]
        text = _text(r.content)

        issued = datetime.fromisoformat(invoice["issued_at"]).astimezone(UTC).date().isoformat()
        for expected in (
            "INVOICE",
            invoice["number"],
            # seller, from configuration
            "Paystream Demo GmbH",
            "Example Street 1",
            "10115 Berlin",
            "Tax ID: DE123456789",
            "billing@seller.test",
            # buyer, as it was when the invoice was issued
            "北京示例科技有限公司",
            "北京市朝阳区建国路88号",
            "100022 北京",
            "Tax ID: 91110105MA01ABCD2X",
            "cfo@example.cn",
            # dates, order, payment
            f"Issue date {issued}",
            "Payment date 2026-03-01",
            f"Order {order}",
            "Payment method Stripe",
            f"Payment reference pi_{order}",
            "Status Paid",
            # the line and the amounts in the currency's minor units (CNY: 2 decimals)
            "standard — 1,100 credits 1 CNY 100.00 CNY 100.00",
            "Net CNY 94.34",
            "VAT 6% CNY 5.66",
            "Total (CNY) CNY 100.00",
        ):
            assert expected in text, f"{expected!r} not in the PDF:\n{text}"
        assert "Renamed Ltd" not in text
        assert "NEW-1" not in text

        # The same document, the same bytes: rendered from what was frozen at issue.
        again = await http.get(f"/v1/invoices/{invoice['id']}/pdf", headers=auth_headers(user))
        assert again.content == r.content

        # Another user's invoice is not found; an admin may download it.
        r = await http.get(f"/v1/invoices/{invoice['id']}/pdf", headers=auth_headers("mallory"))
        assert r.status_code == 404
        r = await http.get(
            f"/v1/invoices/{invoice['id']}/pdf", headers=auth_headers("op", admin=True)
        )
        assert r.status_code == 200
        for bad in ("not-a-uuid", str(uuid.uuid4())):
            r = await http.get(f"/v1/invoices/{bad}/pdf", headers=auth_headers(user))
            assert r.status_code == 404
        assert (await http.get(f"/v1/invoices/{invoice['id']}/pdf")).status_code == 401

    # What was captured never changes.
    async with invoicing_pool.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError, match="never change"):
            await conn.execute(
                "UPDATE invoices SET buyer = '{}'::jsonb WHERE id = $1", uuid.UUID(invoice["id"])
            )


async def test_credit_note_pdf_names_the_invoice_it_corrects(
    invoicing_client, auth_headers, apply_batch, make_paid, make_envelope
) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    order = str(uuid.uuid4())
    async with invoicing_client(**SELLER) as (_, http):
        await http.put("/v1/billing-profile", headers=auth_headers(user), json=BUYER)
        await apply_batch([make_envelope(make_paid(order, user_id=user), user_id=user)])
        await apply_batch([_refund(order, user, 2500, f"re_{uuid.uuid4().hex[:10]}")])
        note = (
            await http.get(
                "/v1/credit-notes", headers=auth_headers(user), params={"order_id": order}
            )
        ).json()["items"][0]
        r = await http.get(f"/v1/credit-notes/{note['id']}/pdf", headers=auth_headers(user))
        assert r.status_code == 200, r.text
        text = _text(r.content)
        issued = datetime.fromisoformat(note["issued_at"]).astimezone(UTC).date().isoformat()
        for expected in (
            "CREDIT NOTE",
            note["number"],
            "Paystream Demo GmbH",
            "北京示例科技有限公司",
            "Tax ID: 91110105MA01ABCD2X",
            f"Issue date {issued}",
            "Refund date 2026-03-05",
            f"Corrects invoice {note['invoice_number']} of ",
            f"Order {order}",
            "Reason requested_by_customer",
            "Payment method Stripe",
            f"Refund reference {note['provider_refund_id']}",
            f"Refund of {note['invoice_number']} — 275 credits 1 CNY 25.00 CNY 25.00",
            "Net CNY 23.58",
            "VAT 6% CNY 1.42",
            "Total (CNY) CNY 25.00",
        ):
            assert expected in text, f"{expected!r} not in the PDF:\n{text}"

        # The invoice now lists the credit note that corrects it.
        invoice_pdf = await http.get(
            f"/v1/invoices/{note['invoice_id']}/pdf", headers=auth_headers(user)
        )
        assert f"Corrected by credit note {note['number']}" in _text(invoice_pdf.content)
        r = await http.get(f"/v1/credit-notes/{note['id']}/pdf", headers=auth_headers("mallory"))
        assert r.status_code == 404


async def test_pdf_without_fonts_is_a_clear_503_and_invoicing_goes_on(
    invoicing_client, auth_headers, apply_batch, make_paid, make_envelope, tmp_path
) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    order = str(uuid.uuid4())
    async with invoicing_client(pdf_font=tmp_path / "missing.ttc") as (_, http):
        await apply_batch([make_envelope(make_paid(order, user_id=user), user_id=user)])
        invoice = (
            await http.get("/v1/invoices", headers=auth_headers(user), params={"order_id": order})
        ).json()["items"][0]
        r = await http.get(f"/v1/invoices/{invoice['id']}/pdf", headers=auth_headers(user))
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "pdf_unavailable"
        assert "missing.ttc" in r.json()["error"]["message"]


async def test_revenue_per_provider_currency_and_day(
    invoicing_client, auth_headers, apply_batch, make_paid, make_envelope
) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    day = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    orders = [str(uuid.uuid4()) for _ in range(3)]
    await apply_batch(
        [
            make_envelope(make_paid(orders[0], user_id=user, paid_at=day), user_id=user),
            make_envelope(make_paid(orders[1], user_id=user, paid_at=day), user_id=user),
            make_envelope(
                make_paid(orders[2], user_id=user, paid_at=day, amount_minor=1400, currency="USD"),
                user_id=user,
            ),
        ]
    )
    await apply_batch([_refund(orders[0], user, 3000, "re_rev_1")])
    async with invoicing_client() as (_, http):
        r = await http.get(
            "/v1/admin/stats/revenue",
            headers=auth_headers("op", admin=True),
            params={"since": "2026-03-01", "until": "2026-03-31"},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        rows = {(d["day"], d["provider"], d["currency"]): d for d in body["days"]}
        cny = rows[("2026-03-01", "stripe", "CNY")]
        assert cny["invoices"] == 2
        assert cny["revenue"] == {"value": "200.00", "currency": "CNY"}
        refund_day = rows[("2026-03-05", "stripe", "CNY")]
        assert refund_day["credit_notes"] == 1
        assert refund_day["refunds"] == {"value": "30.00", "currency": "CNY"}
        assert rows[("2026-03-01", "stripe", "USD")]["revenue"]["value"] == "14.00"
        totals = {(t["provider"], t["currency"]): t for t in body["totals"]}
        assert totals[("stripe", "CNY")]["net"] == {"value": "170.00", "currency": "CNY"}

        assert (
            await http.get("/v1/admin/stats/revenue", headers=auth_headers(user))
        ).status_code == 403
        for params in (
            {"since": "2026-03-02", "until": "2026-03-01"},
            {"since": "2020-01-01", "until": "2026-01-01"},
            {"since": "yesterday"},
        ):
            r = await http.get(
                "/v1/admin/stats/revenue", headers=auth_headers("op", admin=True), params=params
            )
            assert r.status_code == 422, params
