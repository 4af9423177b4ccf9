"""Issue 10's inputs on invoicing's API: a NUL in an order_id or user_id filter and a cursor of
any length are 400s, never 500s."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration


async def test_nul_filters_and_long_cursors_are_400(
    invoicing_client: Any, auth_headers: Any
) -> None:
    admin = auth_headers("ops", admin=True)
    async with invoicing_client() as (_, client):
        for url in (
            "/v1/invoices?order_id=o%00",
            "/v1/invoices?user_id=u%00",
            "/v1/credit-notes?order_id=o%00",
        ):
            r = await client.get(url, headers=admin)
            assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_input"), url
        for length in (9, 600, 20_000):
            for path in ("/v1/invoices", "/v1/credit-notes"):
                r = await client.get(path, params={"cursor": "A" * length}, headers=admin)
                assert (r.status_code, r.json()["error"]["code"]) == (400, "bad_request")
