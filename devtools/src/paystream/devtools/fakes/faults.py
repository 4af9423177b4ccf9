"""The fakes' test switch for a lost or late answer: the call takes effect at the "provider",
then its answer comes late (`delay_s`, longer than the caller's timeout: a timeout) or not as
the provider's (`status`, e.g. 503 from a gateway in front of it). That is how a merchant sees
a provider that did the work but whose answer never arrived, which tests need (a refund that
timed out but succeeded) and no real sandbox offers on demand.

    POST   /_fake/faults  {"call": "<name>", "delay_s": 5, "status": 503, "times": 3}
    GET    /_fake/faults  the faults still armed
    DELETE /_fake/faults  disarm all

`call` is the provider's own name for the call: the Alipay method (`alipay.trade.refund`), the
WeChat Pay operation (`refund`, `query_refund`, `query`, `native`, `close`). A fault serves the
next `times` calls (1 by default; a client that retries needs one per attempt).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Fault:
    delay_s: float = 0.0
    status: int | None = None
    times: int = 1


class Faults:
    def __init__(self) -> None:
        self._armed: dict[str, Fault] = {}

    def arm(self, call: str, fault: Fault) -> None:
        self._armed[call] = fault

    def take(self, call: str) -> Fault | None:
        fault = self._armed.get(call)
        if fault is None:
            return None
        fault.times -= 1
        if fault.times <= 0:
            del self._armed[call]
        return fault

    async def answer(self, call: str, response: Response) -> Response:
        """`response` (the call already took effect), or what the armed fault makes of it."""
        fault = self.take(call)
        if fault is None:
            return response
        if fault.delay_s > 0:
            await asyncio.sleep(fault.delay_s)
        if fault.status is not None:
            return Response(b"", status_code=fault.status)
        return response

    def routes(self) -> list[Route]:
        async def arm(request: Request) -> Response:
            try:
                doc = orjson.loads(await request.body())
                call = doc["call"]
                fault = Fault(
                    delay_s=float(doc.get("delay_s", 0.0)),
                    status=None if doc.get("status") is None else int(doc["status"]),
                    times=int(doc.get("times", 1)),
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                return JSONResponse({"error": f"bad fault: {exc!r}"}, status_code=400)
            if not isinstance(call, str) or not call or fault.times < 1 or fault.delay_s < 0:
                return JSONResponse({"error": "call, times >= 1, delay_s >= 0"}, status_code=400)
            self.arm(call, fault)
            return JSONResponse({"call": call, **asdict(fault)})

        async def show(request: Request) -> Response:
            return JSONResponse({call: asdict(f) for call, f in self._armed.items()})

        async def clear(request: Request) -> Response:
            self._armed.clear()
            return JSONResponse({})

        return [
            Route("/_fake/faults", arm, methods=["POST"]),
            Route("/_fake/faults", show, methods=["GET"]),
            Route("/_fake/faults", clear, methods=["DELETE"]),
        ]
