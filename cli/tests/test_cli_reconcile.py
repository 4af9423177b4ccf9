"""`paystream reconcile` before it reaches checkout: a missing or malformed date, no operator
credential, checkout unreachable, each its exit code and one JSON error; and the token it sends."""

from __future__ import annotations

import pytest

from paystream.cli.auth import operator_jwt
from paystream.cli.errors import Refused
from paystream.cli.settings import OperatorSettings
from paystream.devtools.fakes import free_port
from paystream.shared.auth import decode_token, make_token

from .conftest import CliCall

SECRET = "a-test-secret-of-at-least-32-bytes-long"


@pytest.fixture
def env() -> dict[str, str]:
    # A port nobody listens on: the commands that get past their checks find checkout away.
    return {
        "PAYSTREAM_CHECKOUT_URL": f"http://127.0.0.1:{free_port()}",
        "PAYSTREAM_JWT_SECRET": SECRET,
        "PAYSTREAM_OPERATOR_TOKEN": "",
    }


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["reconcile"], 2, "bad_request"),
        (["reconcile", "--date", "2026-02-30", "--local-operator"], 2, "bad_request"),
        (["reconcile", "--date", "2026-12-01"], 4, "refused"),
        (["reconcile", "status"], 4, "refused"),
        (["reconcile", "--date", "2026-12-01", "--local-operator"], 3, "checkout_unreachable"),
        (["reconcile", "status", "--local-operator"], 3, "checkout_unreachable"),
    ],
)
async def test_reconcile_refuses_with_its_exit_code(
    cli: CliCall, env: dict[str, str], args: list[str], code: int, error: str
) -> None:
    got, doc = await cli(*args, env=env)
    assert (got, doc["error"]["code"]) == (code, error), doc


def test_the_local_operator_gets_a_short_admin_token_and_a_user_token_is_refused() -> None:
    s = OperatorSettings(jwt_secret=SECRET, operator_token=None)
    made = operator_jwt(s, action="reconcile", local_operator=True, token=None)
    principal = decode_token(made, SECRET)
    assert principal.is_admin
    assert principal.user_id == "local-operator"
    own = make_token("ops-1", SECRET, role="admin")
    assert operator_jwt(s, action="reconcile", local_operator=False, token=own) == own
    with pytest.raises(Refused):
        operator_jwt(s, action="reconcile", local_operator=False, token=make_token("u1", SECRET))
