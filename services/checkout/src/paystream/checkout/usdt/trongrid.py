"""A small TronGrid client: the TRC20 transfers to an address, and the solidified-chain check.

Two calls, both documented by TRON:

- `GET /v1/accounts/{address}/transactions/trc20` (TronGrid v1): `only_to`, `only_confirmed`,
  `contract_address`, `min_timestamp` (ms), `order_by=block_timestamp,asc`, `limit` (<= 200),
  `fingerprint` (the previous page's `meta.fingerprint`; every other parameter unchanged).
  Answers `{"data": [{transaction_id, token_info{address, decimals, symbol, name},
  block_timestamp, from, to, type, value}], "success": true, "meta": {at, page_size,
  fingerprint?, links?}}`. Rows carry no block number and no event index.
- `POST /walletsolidity/gettransactioninfobyid {"value": txid}`: the receipt from the
  solidified (irreversible) chain, `{}` while the transaction is not solidified.

Both are reads, so connection errors, 5xx and 429 (TronGrid's rate limit) are retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

_RETRIED_STATUSES: Final = frozenset({429, 500, 502, 503, 504})


class TronGridError(Exception):
    """TronGrid refused the request, answered nonsense, or could not be reached."""


class _Retryable(TronGridError):
    pass


@dataclass(frozen=True, slots=True)
class Trc20Page:
    data: list[dict[str, Any]]
    fingerprint: str | None


@dataclass(frozen=True, slots=True)
class SolidifiedTransaction:
    transaction_id: str
    block_number: int
    block_timestamp_ms: int
    # The contract call's outcome ("SUCCESS", "REVERT", ...); None for a plain TRX transfer.
    result: str | None


class TronGridClient:
    def __init__(
        self,
        api_base: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 10.0,
        attempts: int = 4,
    ) -> None:
        headers = {"Accept": "application/json"}
        if api_key:
            headers["TRON-PRO-API-KEY"] = api_key
        self._http = httpx.AsyncClient(
            base_url=api_base.rstrip("/"), headers=headers, timeout=httpx.Timeout(timeout_s)
        )
        self._attempts = attempts

    async def aclose(self) -> None:
        await self._http.aclose()

    async def trc20_transfers_to(
        self,
        address: str,
        *,
        contract_address: str,
        min_timestamp_ms: int,
        limit: int,
        fingerprint: str | None = None,
    ) -> Trc20Page:
        """One page of confirmed TRC20 transfers to `address`, oldest first."""
        params: dict[str, str | int] = {
            "only_to": "true",
            "only_confirmed": "true",
            "contract_address": contract_address,
            "min_timestamp": min_timestamp_ms,
            "order_by": "block_timestamp,asc",
            "limit": limit,
        }
        if fingerprint:
            params["fingerprint"] = fingerprint
        body = await self._request("GET", f"/v1/accounts/{address}/transactions/trc20", params)
        if not isinstance(body, dict) or body.get("success") is not True:
            raise TronGridError(f"TronGrid refused the transfer listing: {_short(body)}")
        data = body.get("data")
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise TronGridError(f"TronGrid answered no data list: {_short(body)}")
        meta = body.get("meta") or {}
        fp = meta.get("fingerprint") if isinstance(meta, dict) else None
        return Trc20Page(data=data, fingerprint=fp if isinstance(fp, str) and fp else None)

    async def solidified_transaction(self, transaction_id: str) -> SolidifiedTransaction | None:
        """The transaction's receipt in the solidified chain, or None while it is not there."""
        body = await self._request(
            "POST", "/walletsolidity/gettransactioninfobyid", json={"value": transaction_id}
        )
        if not isinstance(body, dict):
            raise TronGridError(f"unexpected transaction info: {_short(body)}")
        if not body or "blockNumber" not in body:
            return None
        if body.get("id") not in (None, transaction_id):
            raise TronGridError(f"transaction info for {body.get('id')!r}, not {transaction_id}")
        receipt = body.get("receipt")
        result = receipt.get("result") if isinstance(receipt, dict) else None
        try:
            return SolidifiedTransaction(
                transaction_id=transaction_id,
                block_number=int(body["blockNumber"]),
                block_timestamp_ms=int(body.get("blockTimeStamp", 0)),
                result=result if isinstance(result, str) else None,
            )
        except (TypeError, ValueError) as exc:
            raise TronGridError(f"malformed transaction info: {_short(body)}") from exc

    async def _request(
        self,
        method: str,
        path: str,
        params: dict[str, str | int] | None = None,
        json: dict[str, Any] | None = None,
    ) -> Any:
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(
                    lambda e: isinstance(e, _Retryable | httpx.TransportError)
                ),
                wait=wait_exponential(multiplier=0.2, max=5),
                stop=stop_after_attempt(self._attempts),
                reraise=True,
            ):
                with attempt:
                    resp = await self._http.request(method, path, params=params, json=json)
                    if resp.status_code in _RETRIED_STATUSES:
                        raise _Retryable(f"TronGrid {method} {path}: HTTP {resp.status_code}")
                    if resp.status_code >= 400:
                        raise TronGridError(
                            f"TronGrid {method} {path}: HTTP {resp.status_code} {resp.text[:300]}"
                        )
                    try:
                        return resp.json()
                    except ValueError as exc:
                        raise TronGridError(f"TronGrid {method} {path}: not JSON") from exc
        except httpx.TransportError as exc:
            raise TronGridError(f"TronGrid {method} {path} unreachable: {exc!r}") from exc
        raise AssertionError("unreachable")  # pragma: no cover


def _short(body: object) -> str:
    return repr(body)[:300]
