"""Start the four services as separate processes, wait until they are ready, stop them cleanly.

Used by `make run` (foreground until Ctrl-C) and by the end-to-end tests and benchmarks.
Each service gets its port from `PAYSTREAM_HTTP_PORT`: port base + 1..4 (checkout, webhook-ingest,
ledger, invoicing), so a test stack (base 18000) runs beside the dev stack (base 8000). With a
`Sandbox`, the provider fakes (Alipay, WeChat Pay, TronGrid, Stripe) start first at port base +
5..8, the services are configured to use them (Stripe's only where PAYSTREAM_STRIPE_API_BASE
names it), and they run in sandbox mode (`PAYSTREAM_SANDBOX`: an admin
can move their clocks forward over HTTP). With `web=True` the web app starts last, at the port
base itself, pointed at the four services (and, with a sandbox, in sandbox mode); checkout's
default return URL is its return page. The services always run in sandbox mode
(`PAYSTREAM_SANDBOX=true`: the sandbox clock, development keys).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from paystream.devtools.sandbox import FAKES, Sandbox

SERVICES: tuple[tuple[str, str, int], ...] = (
    ("checkout", "paystream.checkout", 1),
    ("webhook-ingest", "paystream.webhook_ingest", 2),
    ("ledger", "paystream.ledger", 3),
    ("invoicing", "paystream.invoicing", 4),
)


# The web app: at the port base itself (8000 for `make run`).
WEB: tuple[str, str, int] = ("web", "paystream.web", 0)


def urls_for(port_base: int, host: str = "127.0.0.1") -> dict[str, str]:
    return {name: f"http://{host}:{port_base + off}" for name, _, off in SERVICES}


@dataclass
class Stack:
    port_base: int = 8000
    log_dir: Path = Path(".run/dev/logs")
    env: dict[str, str] = field(default_factory=dict)
    only: tuple[str, ...] = ()
    sandbox: Sandbox | None = None
    web: bool = False
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    fakes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def urls(self) -> dict[str, str]:
        return urls_for(self.port_base)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.port_base + WEB[2]}"

    def _url(self, name: str) -> str:
        return self.web_url if name == WEB[0] else self.urls[name]

    def web_env(self) -> dict[str, str]:
        """How the web app finds the services, and its sandbox."""
        urls = self.urls
        env = {
            "PAYSTREAM_WEB_PUBLIC_URL": self.web_url,
            "PAYSTREAM_CHECKOUT_URL": urls["checkout"],
            "PAYSTREAM_LEDGER_URL": urls["ledger"],
            "PAYSTREAM_INVOICING_URL": urls["invoicing"],
        }
        if self.sandbox is not None:
            env |= {
                "PAYSTREAM_WEB_SANDBOX": "true",
                "PAYSTREAM_WEB_SANDBOX_RUN_DIR": str(self.sandbox.run_dir),
                "PAYSTREAM_WEB_SANDBOX_PORT_BASE": str(self.sandbox.port_base),
            }
        return env

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # Every stack devtools starts is a sandbox: services run on the sandbox clock (moved
        # forward over HTTP by an admin) and checkout accepts its development quote key.
        self.env = {"PAYSTREAM_SANDBOX": "true", **self.env}
        if self.web:
            # Where providers send the payer back when an order names no return URL.
            self.env = {
                "PAYSTREAM_DEFAULT_RETURN_URL": f"{self.web_url}/checkout/return",
                # Where an auto-recharge the bank wants confirmed is completed (`order_id` added).
                "PAYSTREAM_AUTO_RECHARGE_ACTION_URL": f"{self.web_url}/cards",
                **self.env,
            }
        if self.sandbox is not None:
            self.env = {**self.sandbox.service_env(), "PAYSTREAM_SANDBOX": "true", **self.env}
            for name, module, off in FAKES:
                self.fakes[name] = self._spawn(
                    name,
                    [sys.executable, "-m", module, "--port", str(self.port_base + off)],
                    # The stack's settings too: the Stripe fake signs with ingest's secret.
                    {**os.environ, **self.env, **self.sandbox.fake_env()},
                )
            _wait_listening({n: self.port_base + o for n, _, o in FAKES}, self.fakes, self.log_dir)
        for name, module, off in SERVICES:
            if self.only and name not in self.only:
                continue
            self.start_one(name, module, self.port_base + off)
        if self.web:
            name, module, off = WEB
            self.start_one(name, module, self.port_base + off, extra=self.web_env())

    def start_one(
        self, name: str, module: str, port: int, extra: dict[str, str] | None = None
    ) -> None:
        env = {**os.environ, **self.env, **(extra or {}), "PAYSTREAM_HTTP_PORT": str(port)}
        self.procs[name] = self._spawn(name, [sys.executable, "-m", module], env)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        self._logs.append(log)
        return subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def restart(self, name: str) -> None:
        """Stop one service and start it again (fault-injection tests)."""
        proc = self.procs.pop(name)
        _terminate(proc)
        module, off = next((m, o) for n, m, o in SERVICES if n == name)
        self.start_one(name, module, self.port_base + off)

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        pending = dict(self.procs)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for name, proc in list(pending.items()):
                    if proc.poll() is not None:
                        raise RuntimeError(
                            f"{name} exited with {proc.returncode} while starting; "
                            f"see {self.log_dir / (name + '.log')}"
                        )
                    try:
                        r = client.get(f"{self._url(name)}/readyz")
                        if r.status_code == 200:
                            del pending[name]
                    except httpx.HTTPError:
                        pass
                if not pending:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"not ready after {timeout_s:.0f}s: {sorted(pending)}; "
                        f"logs in {self.log_dir}"
                    )
                time.sleep(0.3)

    def stop(self) -> None:
        everything = [*self.procs.values(), *self.fakes.values()]
        for proc in everything:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in everything:
            _terminate(proc)
        self.procs.clear()
        self.fakes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()


def _wait_listening(
    ports: dict[str, int],
    procs: dict[str, subprocess.Popen[bytes]],
    log_dir: Path,
    timeout_s: float = 60.0,
) -> None:
    deadline = time.monotonic() + timeout_s
    pending = dict(ports)
    while pending:
        for name, port in list(pending.items()):
            if procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited while starting; see {log_dir / (name + '.log')}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    del pending[name]
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"not listening after {timeout_s:.0f}s: {sorted(pending)}")
        time.sleep(0.2)


def _terminate(proc: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the four paystream services until Ctrl-C.")
    parser.add_argument(
        "--port-base", type=int, default=int(os.environ.get("PAYSTREAM_PORT_BASE", "8000"))
    )
    parser.add_argument(
        "--log-dir",
        type=Path,
        default=Path(os.environ.get("PAYSTREAM_RUN_DIR", ".run/dev")) / "logs",
    )
    args = parser.parse_args()
    run_dir = Path(os.environ.get("PAYSTREAM_RUN_DIR", ".run/dev"))
    stack = Stack(
        port_base=args.port_base,
        log_dir=args.log_dir,
        sandbox=Sandbox.create(run_dir, args.port_base),
        web=True,
    )
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack.start()
    try:
        stack.wait_ready()
        print("paystream is up (Ctrl-C stops everything `make run` started):", flush=True)
        print(f"  {'web app':15s} {stack.web_url}   <- open this (sandbox: sign in as anyone)")
        for name, url in stack.urls.items():
            print(f"  {name:15s} {url}   docs: {url}/docs", flush=True)
        assert stack.sandbox is not None
        for name, _, _ in FAKES:
            print(f"  {name:15s} {stack.sandbox.url(name)}   (local provider fake)", flush=True)
        print(f"  logs: {args.log_dir}", flush=True)
        while not stopping:
            for name, proc in stack.procs.items():
                if proc.poll() is not None:
                    print(
                        f"{name} exited with {proc.returncode}; see {args.log_dir}/{name}.log",
                        flush=True,
                    )
                    stopping = True
            time.sleep(0.5)
    finally:
        print("stopping services ...", flush=True)
        stack.stop()


if __name__ == "__main__":
    main()
