"""Errors the command reports as one line and an exit code, never as a traceback."""

from __future__ import annotations

from typing import ClassVar


class CliError(Exception):
    exit_code: ClassVar[int] = 1
    code: ClassVar[str] = "failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(CliError):
    exit_code = 2
    code = "bad_request"


class KafkaUnreachable(CliError):
    exit_code = 3
    code = "kafka_unreachable"


class DatabaseUnreachable(CliError):
    exit_code = 3
    code = "database_unreachable"


class Refused(CliError):
    exit_code = 4
    code = "refused"


class GroupActive(Refused):
    code = "group_active"


class NotFound(CliError):
    exit_code = 5
    code = "not_found"
