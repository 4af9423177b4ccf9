"""Running a command: its result as Rich output or one JSON document, and every failure as one
line on stderr (plus `{"error": ...}` with `--json`) and an exit code, never a traceback."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg
import typer
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NodeNotReadyError,
    RequestTimedOutError,
)
from rich.console import Console

from paystream.cli.connect import kafka_unreachable
from paystream.cli.errors import CliError, DatabaseUnreachable
from paystream.cli.settings import OperatorSettings

Result = dict[str, Any]
Render = Callable[[Result, Console], None]

_KAFKA_AWAY = (KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, RequestTimedOutError)


def console() -> Console:
    return Console()


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, default=str, indent=2) + "\n")
    sys.stdout.flush()


def _as_cli_error(settings: OperatorSettings, exc: BaseException) -> CliError:
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, _KAFKA_AWAY):
        return kafka_unreachable(settings, exc)
    if isinstance(exc, KafkaError):
        return CliError(f"Kafka refused the request: {exc!r}")
    if isinstance(exc, asyncpg.PostgresConnectionError | ConnectionError):
        return DatabaseUnreachable(f"lost the database connection: {exc}")
    if isinstance(exc, asyncpg.PostgresError):
        return CliError(f"database error: {exc}")
    return CliError(f"unexpected failure: {exc!r}")


def fail(exc: CliError, *, as_json: bool) -> typer.Exit:
    if as_json:
        emit_json({"error": {"code": exc.code, "message": exc.message}})
    Console(stderr=True).print(
        f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True
    )
    return typer.Exit(exc.exit_code)


def run(
    settings: OperatorSettings,
    work: Coroutine[Any, Any, Result],
    *,
    as_json: bool,
    render: Render,
    exit_code: Callable[[Result], int] | None = None,
) -> None:
    try:
        result = asyncio.run(work)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except Exception as exc:
        raise fail(_as_cli_error(settings, exc), as_json=as_json) from None
    if as_json:
        emit_json(result)
    else:
        render(result, console())
    code = exit_code(result) if exit_code is not None else 0
    if code:
        raise typer.Exit(code)
