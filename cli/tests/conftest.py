"""Driving the `paystream` Typer app from async tests: each call runs in a worker thread (the
command runs its own event loop) and returns the exit code and the parsed `--json` output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from paystream.cli.main import app

CliCall = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
def cli() -> CliCall:
    runner = CliRunner()

    async def call(
        *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        result = await asyncio.to_thread(
            runner.invoke, app, [*args, "--json"], input=input, env=env
        )
        stdout = result.stdout
        if input is not None:
            # CliRunner echoes the typed answer to stdout (a terminal would show it instead).
            stdout = stdout[stdout.find("{") :]
        try:
            doc = json.loads(stdout)
        except json.JSONDecodeError:
            raise AssertionError(
                f"not one JSON document (exit {result.exit_code}): stdout={result.stdout!r} "
                f"stderr={result.stderr!r} exception={result.exception!r}"
            ) from None
        return result.exit_code, doc

    return call
