"""Entry point of the `paystream` command (filled in by issue 4)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Operate paystream: topics, lag, replay, dead letters, verify.")


def main() -> None:
    app()
