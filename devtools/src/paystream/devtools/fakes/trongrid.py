"""A TronGrid stand-in: TRC20 transfers in memory, blocks that solidify, TronGrid's wire format.

Speaks what checkout's USDT watcher calls, with TronGrid's documented parameters and shapes:

- `GET /v1/accounts/{address}/transactions/trc20`: `only_to`, `only_from`, `only_confirmed`,
  `only_unconfirmed` (not both), `contract_address`, `min_timestamp` / `max_timestamp` (ms,
  inclusive), `order_by` (`block_timestamp,desc` default, or `,asc`), `limit` (default 20, at
  most 200), `fingerprint` (from `meta.fingerprint`; the other parameters must not change).
  Answers `{"data": [...], "success": true, "meta": {"at", "page_size", "fingerprint"?,
  "links": {"next"}?}}`; errors `{"success": false, "error", "statusCode"}`.
- `POST /walletsolidity/gettransactioninfobyid {"value": txid}`: the receipt (`id`,
  `blockNumber`, `blockTimeStamp`, `contract_address`, `receipt.result`, `log`) once the block
  is solidified, `{}` before.
- `POST|GET /walletsolidity/getnowblock` and `/wallet/getnowblock`: the solidified / head block.

A transfer is "confirmed" (listed with `only_confirmed=true`) once its block is solidified:
`solid_lag_blocks` behind the head, or up to where `POST /_fake/solidify` put it. With
`block_interval_s` > 0 empty blocks are produced as time passes (like TRON's 3 s blocks), so
transfers solidify on their own; with 0 blocks are made only by the control endpoints.

Control endpoints (tests and the demo):

- `POST /_fake/transfers` `{"to", "amount": "14.000123" | "value": 14000123, "from"?, "txid"?,
  "contract"?, "confirmed"?}` or `{"transfers": [...]}`: the transfers in one new block (items
  sharing a `txid` are events of one transaction). `confirmed: true` lists a transfer as confirmed
  before its block is solidified (an index running ahead of the chain). Answers the block and the
  transfers (`transaction_id`s).
- `POST /_fake/blocks {"count"}`: produce empty blocks.
- `POST /_fake/solidify {"block_number"?}`: solidify up to the head (or that block).
- `POST /_fake/fail {"count", "status"}`: the next `count` API requests answer `status`.
- `GET /_fake/state`, `POST /_fake/reset`.

`python -m paystream.devtools.fakes.trongrid --port 8090 [--solid-lag 3] [--block-interval 1]
[--api-key KEY]` (env `TRONGRID_FAKE_*`); with an api key, requests without the
`TRON-PRO-API-KEY` header are refused (401).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import os
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paystream.devtools.fakes import run

USDT_CONTRACT: Final = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
DEFAULT_FROM: Final = "TJmmqjb1DK9TTZbQXzRQ2AuA94z4gKAPFh"
GENESIS_NUMBER: Final = 70_000_000
MAX_LIMIT: Final = 200
# keccak256("Transfer(address,address,uint256)")
TRANSFER_TOPIC: Final = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
_B58: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58_to_hex(address: str) -> str | None:
    """A base58check TRON address as hex (41...), or None when it is not one."""
    n = 0
    for ch in address:
        i = _B58.find(ch)
        if i < 0:
            return None
        n = n * 58 + i
    raw = n.to_bytes(25, "big") if n.bit_length() <= 200 else b""
    if len(raw) != 25:
        return None
    body, check = raw[:21], raw[21:]
    if hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] != check:
        return None
    return body.hex()


@dataclass(frozen=True, slots=True)
class Block:
    number: int
    timestamp_ms: int

    @property
    def block_id(self) -> str:
        return f"{self.number:016x}" + hashlib.sha256(str(self.number).encode()).hexdigest()[16:]


@dataclass(frozen=True, slots=True)
class FakeTransfer:
    transaction_id: str
    event_index: int
    from_address: str
    to_address: str
    value: int
    contract: str
    block: Block
    listed_confirmed_early: bool = False

    def sort_key(self) -> tuple[int, str, int]:
        return (self.block.timestamp_ms, self.transaction_id, self.event_index)

    def row(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "token_info": {
                "symbol": "USDT",
                "address": self.contract,
                "decimals": 6,
                "name": "Tether USD",
            },
            "block_timestamp": self.block.timestamp_ms,
            "from": self.from_address,
            "to": self.to_address,
            "type": "Transfer",
            "value": str(self.value),
        }


@dataclass
class Chain:
    solid_lag_blocks: int = 0
    block_interval_s: float = 0.0
    blocks: list[Block] = field(default_factory=list)
    transfers: list[FakeTransfer] = field(default_factory=list)
    solid_manual: int = 0
    fail_next: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.blocks:
            self.blocks.append(Block(GENESIS_NUMBER, _now_ms()))
            self.solid_manual = GENESIS_NUMBER

    def head(self) -> Block:
        if self.block_interval_s > 0:
            step = max(1, int(self.block_interval_s * 1000))
            now = _now_ms()
            while self.blocks[-1].timestamp_ms + step <= now:
                last = self.blocks[-1]
                self.blocks.append(Block(last.number + 1, last.timestamp_ms + step))
        return self.blocks[-1]

    def solid_number(self) -> int:
        head = self.head().number
        return min(head, max(self.solid_manual, head - self.solid_lag_blocks))

    def is_solid(self, block: Block) -> bool:
        return block.number <= self.solid_number()

    def new_block(self) -> Block:
        last = self.head()
        block = Block(last.number + 1, max(_now_ms(), last.timestamp_ms + 1))
        self.blocks.append(block)
        return block

    def block_by_number(self, number: int) -> Block:
        first = self.blocks[0].number
        return self.blocks[number - first]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": message, "statusCode": status}, status_code=status
    )


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    return int(raw)


def _fingerprint(key: tuple[int, str, int], query_hash: str) -> str:
    raw = orjson.dumps({"k": list(key), "q": query_hash})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_fingerprint(token: str) -> tuple[tuple[int, str, int], str]:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    obj = orjson.loads(raw)
    ts, txid, idx = obj["k"]
    return (int(ts), str(txid), int(idx)), str(obj["q"])


def create_app(
    *,
    solid_lag_blocks: int = 0,
    block_interval_s: float = 0.0,
    api_key: str | None = None,
) -> Starlette:
    """A fresh fake TronGrid; `app.state.chain` is its in-memory chain."""
    chain = Chain(solid_lag_blocks=solid_lag_blocks, block_interval_s=block_interval_s)

    def guard(request: Request) -> Response | None:
        if api_key is not None and request.headers.get("tron-pro-api-key") != api_key:
            return JSONResponse({"Error": "ApiKey not exists"}, status_code=401)
        if chain.fail_next:
            return _error(chain.fail_next.pop(0), "injected failure")
        return None

    async def trc20(request: Request) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        address = request.path_params["address"]
        try:
            only_confirmed = _flag(request, "only_confirmed")
            only_unconfirmed = _flag(request, "only_unconfirmed")
            if only_confirmed and only_unconfirmed:
                return _error(400, "only_confirmed and only_unconfirmed cannot be used together")
            limit = _int_param(request, "limit", 20)
            if not 1 <= limit <= MAX_LIMIT:
                return _error(400, f"limit must be between 1 and {MAX_LIMIT}")
            min_ts = _int_param(request, "min_timestamp", 0)
            max_ts = _int_param(request, "max_timestamp", 2**62)
        except ValueError as exc:
            return _error(400, f"invalid parameter: {exc}")
        order_by = request.query_params.get("order_by", "block_timestamp,desc")
        if order_by not in ("block_timestamp,asc", "block_timestamp,desc"):
            return _error(400, f"invalid order_by {order_by!r}")
        descending = order_by.endswith("desc")
        contract = request.query_params.get("contract_address")
        only_to, only_from = _flag(request, "only_to"), _flag(request, "only_from")
        params = sorted((k, v) for k, v in request.query_params.multi_items() if k != "fingerprint")
        query_hash = hashlib.sha256(orjson.dumps([address, params])).hexdigest()[:16]

        after: tuple[int, str, int] | None = None
        if fp := request.query_params.get("fingerprint"):
            try:
                after, fp_query = _read_fingerprint(fp)
            except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
                return _error(400, "invalid fingerprint")
            if fp_query != query_hash:
                return _error(400, "fingerprint used with other parameters")

        def wanted(t: FakeTransfer) -> bool:
            if only_to and t.to_address != address:
                return False
            if only_from and t.from_address != address:
                return False
            if address not in (t.to_address, t.from_address):
                return False
            if contract and t.contract != contract:
                return False
            if not min_ts <= t.block.timestamp_ms <= max_ts:
                return False
            confirmed = chain.is_solid(t.block) or t.listed_confirmed_early
            if only_confirmed and not confirmed:
                return False
            return not (only_unconfirmed and confirmed)

        rows = sorted(
            (t for t in chain.transfers if wanted(t)),
            key=FakeTransfer.sort_key,
            reverse=descending,
        )
        if after is not None:
            rows = [
                t for t in rows if (t.sort_key() < after if descending else t.sort_key() > after)
            ]
        page, more = rows[:limit], len(rows) > limit
        meta: dict[str, Any] = {"at": _now_ms(), "page_size": len(page)}
        if more:
            token = _fingerprint(page[-1].sort_key(), query_hash)
            meta["fingerprint"] = token
            next_params = [*params, ("fingerprint", token)]
            query = "&".join(f"{k}={v}" for k, v in next_params)
            meta["links"] = {"next": f"{str(request.url).split('?', 1)[0]}?{query}"}
        return JSONResponse({"data": [t.row() for t in page], "success": True, "meta": meta})

    async def _txid_from(request: Request) -> str | None:
        if request.method == "POST":
            try:
                body = orjson.loads(await request.body() or b"{}")
            except orjson.JSONDecodeError:
                return None
            value = body.get("value") if isinstance(body, dict) else None
        else:
            value = request.query_params.get("value")
        return value if isinstance(value, str) else None

    async def transaction_info(request: Request) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        txid = await _txid_from(request)
        events = [t for t in chain.transfers if t.transaction_id == txid]
        if not events or not chain.is_solid(events[0].block):
            return JSONResponse({})
        block = events[0].block
        contract_hex = base58_to_hex(events[0].contract)
        logs = []
        for t in sorted(events, key=lambda e: e.event_index):
            frm, to = base58_to_hex(t.from_address), base58_to_hex(t.to_address)
            logs.append(
                {
                    "address": (contract_hex or "")[2:],
                    "topics": [
                        TRANSFER_TOPIC,
                        (frm or "").removeprefix("41").rjust(64, "0"),
                        (to or "").removeprefix("41").rjust(64, "0"),
                    ],
                    "data": f"{t.value:064x}",
                }
            )
        return JSONResponse(
            {
                "id": txid,
                "fee": 0,
                "blockNumber": block.number,
                "blockTimeStamp": block.timestamp_ms,
                "contractResult": [""],
                "contract_address": contract_hex or events[0].contract,
                "receipt": {
                    "energy_usage_total": 14650,
                    "net_usage": 345,
                    "result": "SUCCESS",
                },
                "log": logs,
            }
        )

    def block_json(block: Block) -> dict[str, Any]:
        return {
            "blockID": block.block_id,
            "block_header": {
                "raw_data": {
                    "number": block.number,
                    "timestamp": block.timestamp_ms,
                    "parentHash": Block(block.number - 1, 0).block_id,
                    "version": 30,
                }
            },
        }

    async def now_block(request: Request) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        return JSONResponse(block_json(chain.head()))

    async def solid_now_block(request: Request) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        return JSONResponse(block_json(chain.block_by_number(chain.solid_number())))

    # ---- control --------------------------------------------------------------------------

    async def _json(request: Request) -> dict[str, Any]:
        body = orjson.loads(await request.body() or b"{}")
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        return body

    async def add_transfers(request: Request) -> Response:
        try:
            body = await _json(request)
            items = body.get("transfers", [body])
            specs = [_transfer_spec(item) for item in items]
        except (ValueError, KeyError, TypeError, InvalidOperation, orjson.JSONDecodeError) as exc:
            return JSONResponse({"error": f"bad transfer: {exc!r}"}, status_code=400)
        block = chain.new_block()
        made: list[FakeTransfer] = []
        counts: dict[str, int] = {}
        for spec in specs:
            txid = spec["txid"] or secrets.token_hex(32)
            index = counts.get(txid, 0)
            counts[txid] = index + 1
            made.append(
                FakeTransfer(
                    transaction_id=txid,
                    event_index=index,
                    from_address=spec["from"],
                    to_address=spec["to"],
                    value=spec["value"],
                    contract=spec["contract"],
                    block=block,
                    listed_confirmed_early=spec["confirmed"],
                )
            )
        chain.transfers.extend(made)
        return JSONResponse(
            {
                "block_number": block.number,
                "block_timestamp": block.timestamp_ms,
                "transfers": [{**t.row(), "event_index": t.event_index} for t in made],
            }
        )

    async def add_blocks(request: Request) -> Response:
        body = await _json(request)
        count = int(body.get("count", 1))
        for _ in range(count):
            chain.new_block()
        return JSONResponse({"head": chain.head().number, "solid": chain.solid_number()})

    async def solidify(request: Request) -> Response:
        body = await _json(request)
        target = body.get("block_number")
        chain.solid_manual = max(
            chain.solid_manual, chain.head().number if target is None else int(target)
        )
        return JSONResponse({"head": chain.head().number, "solid": chain.solid_number()})

    async def fail(request: Request) -> Response:
        body = await _json(request)
        chain.fail_next.extend([int(body.get("status", 503))] * int(body.get("count", 1)))
        return JSONResponse({"pending_failures": len(chain.fail_next)})

    async def state(request: Request) -> Response:
        return JSONResponse(
            {
                "head": chain.head().number,
                "solid": chain.solid_number(),
                "transfers": len(chain.transfers),
            }
        )

    async def reset(request: Request) -> Response:
        chain.transfers.clear()
        chain.fail_next.clear()
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[
            Route("/v1/accounts/{address}/transactions/trc20", trc20, methods=["GET"]),
            Route(
                "/walletsolidity/gettransactioninfobyid",
                transaction_info,
                methods=["GET", "POST"],
            ),
            Route("/walletsolidity/getnowblock", solid_now_block, methods=["GET", "POST"]),
            Route("/wallet/getnowblock", now_block, methods=["GET", "POST"]),
            Route("/_fake/transfers", add_transfers, methods=["POST"]),
            Route("/_fake/blocks", add_blocks, methods=["POST"]),
            Route("/_fake/solidify", solidify, methods=["POST"]),
            Route("/_fake/fail", fail, methods=["POST"]),
            Route("/_fake/state", state, methods=["GET"]),
            Route("/_fake/reset", reset, methods=["POST"]),
        ]
    )
    app.state.chain = chain
    return app


def _transfer_spec(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise TypeError("a transfer is a JSON object")
    if "value" in item:
        value = int(item["value"])
    else:
        scaled = Decimal(str(item["amount"])).scaleb(6)
        if scaled != scaled.to_integral_value():
            raise ValueError("USDT has 6 decimals")
        value = int(scaled)
    if value < 0:
        raise ValueError("negative amount")
    return {
        "to": str(item["to"]),
        "from": str(item.get("from") or DEFAULT_FROM),
        "value": value,
        "txid": item.get("txid"),
        "contract": str(item.get("contract") or USDT_CONTRACT),
        "confirmed": bool(item.get("confirmed", False)),
    }


def main(argv: list[str] | None = None) -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m paystream.devtools.fakes.trongrid")
    parser.add_argument("--port", type=int, default=int(env("TRONGRID_FAKE_PORT", "8090")))
    parser.add_argument(
        "--solid-lag",
        type=int,
        default=int(env("TRONGRID_FAKE_SOLID_LAG", "3")),
        help="blocks behind the head that are solidified (TRON: about 19)",
    )
    parser.add_argument(
        "--block-interval",
        type=float,
        default=float(env("TRONGRID_FAKE_BLOCK_INTERVAL", "1")),
        help="seconds between empty blocks (TRON: 3); 0 makes blocks only on demand",
    )
    parser.add_argument("--api-key", default=env("TRONGRID_FAKE_API_KEY") or None)
    args = parser.parse_args(argv)
    run(
        create_app(
            solid_lag_blocks=args.solid_lag,
            block_interval_s=args.block_interval,
            api_key=args.api_key,
        ),
        args.port,
    )


if __name__ == "__main__":
    main()
