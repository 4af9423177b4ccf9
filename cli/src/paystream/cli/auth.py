"""The operator credential that commands changing what services see (replay, reprocess-raw,
dlq retry/purge) require: an admin JWT, or `--local-operator`. The JWT comes from a file
(`--operator-token-file`, PAYSTREAM_OPERATOR_TOKEN_FILE) or PAYSTREAM_OPERATOR_TOKEN, never from
a command-line argument, which every user of the machine can read in `ps`.

`--local-operator` is not a security boundary: whoever runs the command with working Kafka and
database credentials can do the same with Kafka's and PostgreSQL's own tools. It is a deliberate
act that keeps these commands out of casual scripts.
"""

from __future__ import annotations

from pathlib import Path

from paystream.cli.errors import Refused
from paystream.cli.settings import OperatorSettings
from paystream.shared.auth import decode_token, make_token
from paystream.shared.errors import Unauthorized


def read_token_file(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text().strip() or None
    except OSError as exc:
        raise Refused(f"cannot read the operator token file {path}: {exc.strerror}") from None


def require_operator(
    settings: OperatorSettings, *, action: str, local_operator: bool, token: str | None
) -> str:
    """Who acts, or Refused. `token` (read from the token file) wins over
    PAYSTREAM_OPERATOR_TOKEN."""
    if local_operator:
        return "local-operator"
    raw = token or (
        settings.operator_token.get_secret_value() if settings.operator_token is not None else None
    )
    if not raw:
        raise Refused(
            f"{action} needs an operator credential: set PAYSTREAM_OPERATOR_TOKEN to an admin "
            "JWT, or pass --local-operator"
        )
    try:
        principal = decode_token(raw, settings.jwt_secret.get_secret_value())
    except Unauthorized as exc:
        raise Refused(f"{action} refused: operator token: {exc.message}") from None
    if not principal.is_admin:
        raise Refused(
            f"{action} refused: the operator token of {principal.user_id!r} has no admin role"
        )
    return principal.user_id


def operator_jwt(
    settings: OperatorSettings, *, action: str, local_operator: bool, token: str | None
) -> str:
    """The admin JWT a service's admin API takes: the operator's own, or with `--local-operator`
    one made for five minutes with the services' JWT secret (which the local operator holds)."""
    raw = token or (
        settings.operator_token.get_secret_value() if settings.operator_token is not None else None
    )
    if raw and not local_operator:
        require_operator(settings, action=action, local_operator=False, token=raw)
        return raw
    who = require_operator(settings, action=action, local_operator=local_operator, token=raw)
    return make_token(who, settings.jwt_secret.get_secret_value(), role="admin", ttl_s=300)
