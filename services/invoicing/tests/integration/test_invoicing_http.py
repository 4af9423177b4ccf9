"""The invoicing HTTP API on the real app and database: listing, pagination, reading one
invoice, and every refusal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from paystream.invoicing import service
from paystream.shared.pagination import KeysetCursor

pytestmark = pytest.mark.integration


async def _seed(pool, make_paid) -> None:
    """Five invoices of alice and one of bob, each in its own transaction, oldest first."""
    orders = [("alice", f"a{i}") for i in range(1, 4)] + [("bob", "b1")]
    orders += [("alice", f"a{i}") for i in range(4, 6)]
    for user, order in orders:
        async with pool.acquire() as conn, conn.transaction():
            await service.issue_invoices(
                conn, [service.PaidOrder(uuid.uuid4(), make_paid(order, user_id=user))]
            )


def _orders(body) -> list[str]:
    return [i["order_id"] for i in body["items"]]


async def test_list_paginate_filter_and_get(
    invoicing_pool, invoicing_client, make_paid, auth_headers
) -> None:
    await _seed(invoicing_pool, make_paid)
    alice, bob, ops = auth_headers("alice"), auth_headers("bob"), auth_headers("ops", admin=True)
    async with invoicing_client() as (_, client):
        r = await client.get("/v1/invoices", headers=alice)
        assert r.status_code == 200, r.text
        body = r.json()
        assert _orders(body) == ["a5", "a4", "a3", "a2", "a1"]  # newest first, bob's not shown
        assert body["next_cursor"] is None

        # Pages of two walk the same list, with no repeat and no hole.
        pages, cursor = [], None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/v1/invoices", params=params, headers=alice)).json()
            pages.append(_orders(page))
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == [["a5", "a4"], ["a3", "a2"], ["a1"]]

        only = await client.get("/v1/invoices", params={"order_id": "a2"}, headers=alice)
        assert _orders(only.json()) == ["a2"]
        # Another user's order through the filter: nothing, not their invoice.
        assert _orders((await client.get("/v1/invoices?order_id=a2", headers=bob)).json()) == []
        assert _orders((await client.get("/v1/invoices", headers=bob)).json()) == ["b1"]

        everyone = await client.get("/v1/invoices", headers=ops)
        assert _orders(everyone.json()) == ["a5", "a4", "b1", "a3", "a2", "a1"]
        just_bob = await client.get("/v1/invoices", params={"user_id": "bob"}, headers=ops)
        assert _orders(just_bob.json()) == ["b1"]
        # A user may name themself.
        me = await client.get("/v1/invoices", params={"user_id": "bob"}, headers=bob)
        assert _orders(me.json()) == ["b1"]

        first = body["items"][-1]
        assert first["number"] == "INV-2026-000001"
        one = await client.get(f"/v1/invoices/{first['id']}", headers=alice)
        assert one.status_code == 200
        assert one.json() == first
        assert set(first) == {
            "id",
            "number",
            "order_id",
            "user_id",
            "package_id",
            "description",
            "credits",
            "amount",
            "provider",
            "provider_payment_id",
            "status",
            "refunded",
            "credit_notes",
            "paid_at",
            "issued_at",
        }
        assert first | {"id": None, "issued_at": None} == {
            "id": None,
            "number": "INV-2026-000001",
            "order_id": "a1",
            "user_id": "alice",
            "package_id": "standard",
            "description": "standard — 1,100 credits",
            "credits": 1100,
            "amount": {"value": "100.00", "currency": "CNY"},
            "provider": "stripe",
            "provider_payment_id": "pi_a1",
            "status": "paid",
            "refunded": {"value": "0.00", "currency": "CNY"},
            "credit_notes": [],
            "paid_at": "2026-03-01T12:00:00Z",
            "issued_at": None,
        }
        admin_view = await client.get(f"/v1/invoices/{first['id']}", headers=ops)
        assert admin_view.status_code == 200
        assert admin_view.json() == first


async def test_refusals(invoicing_pool, invoicing_client, make_paid, auth_headers) -> None:
    await _seed(invoicing_pool, make_paid)
    alice, bob = auth_headers("alice"), auth_headers("bob")
    async with invoicing_client() as (_, client):
        [bobs] = (await client.get("/v1/invoices", headers=bob)).json()["items"]

        def refused(r, status: int, code: str) -> None:
            assert r.status_code == status, r.text
            assert r.json()["error"]["code"] == code

        # Another user's invoice, an unknown id and a malformed id look the same.
        refused(await client.get(f"/v1/invoices/{bobs['id']}", headers=alice), 404, "not_found")
        refused(await client.get(f"/v1/invoices/{uuid.uuid4()}", headers=alice), 404, "not_found")
        refused(await client.get("/v1/invoices/INV-2026-000001", headers=alice), 404, "not_found")

        stale = KeysetCursor(datetime(2026, 1, 1, tzinfo=UTC), uuid.uuid4()).encode()
        assert (await client.get(f"/v1/invoices?cursor={stale}", headers=alice)).status_code == 200
        for bad in ("garbage", "MjAyNi0wMS0wMQ", "%20"):
            r = await client.get("/v1/invoices", params={"cursor": bad}, headers=alice)
            refused(r, 400, "bad_request")

        for limit in (0, 101, "ten"):
            r = await client.get("/v1/invoices", params={"limit": limit}, headers=alice)
            refused(r, 422, "validation_error")
        r = await client.get("/v1/invoices", params={"limit": 100}, headers=alice)
        assert r.status_code == 200

        r = await client.get("/v1/invoices", params={"user_id": "bob"}, headers=alice)
        refused(r, 403, "forbidden")

        refused(await client.get("/v1/invoices"), 401, "unauthorized")
        refused(await client.get(f"/v1/invoices/{bobs['id']}"), 401, "unauthorized")
        bad_token = {"Authorization": "Bearer not.a.jwt"}
        refused(await client.get("/v1/invoices", headers=bad_token), 401, "unauthorized")


async def test_health_readiness_metrics_docs(invoicing_client) -> None:
    async with invoicing_client() as (_, client):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"postgres": "ok", "kafka": "ok"}
        assert (await client.get("/metrics")).status_code == 200
        assert (await client.get("/docs")).status_code == 200
        spec = (await client.get("/openapi.json")).json()
        assert set(spec["paths"]["/v1/invoices"]["get"]["responses"]) >= {
            "200",
            "400",
            "401",
            "403",
            "422",
        }
