"""Issue 10's inputs on the ledger's API: a NUL in a spend reason (422) or a user_id filter (400),
and a cursor of any length (400), were 500s."""

from __future__ import annotations

import pytest
from ledgerkit import LedgerApp

pytestmark = pytest.mark.integration


async def test_a_nul_in_a_spend_reason_is_422(ledger: LedgerApp) -> None:
    r = await ledger.http.post(
        "/v1/spend",
        json={"credits": 1, "reason": "gen\u0000image"},
        headers=ledger.auth("u-nul", key="k1"),
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")


@pytest.mark.parametrize(
    "path", ["/v1/balance", "/v1/lots", "/v1/holds", "/v1/transactions", "/v1/admin/refunds"]
)
async def test_a_nul_in_a_user_id_filter_is_400(ledger: LedgerApp, path: str) -> None:
    r = await ledger.http.get(f"{path}?user_id=a%00b", headers=ledger.auth("ops", admin=True))
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_input")


@pytest.mark.parametrize("length", [7, 600, 5_000, 50_000])
@pytest.mark.parametrize("path", ["/v1/lots", "/v1/holds", "/v1/transactions", "/v1/admin/refunds"])
async def test_a_cursor_of_any_length_is_400(ledger: LedgerApp, path: str, length: int) -> None:
    r = await ledger.http.get(
        path, params={"cursor": "1" * length}, headers=ledger.auth("ops", admin=True)
    )
    assert (r.status_code, r.json()["error"]["code"]) == (400, "bad_request")
