import time

import jwt
import pytest

from paystream.shared.auth import decode_token, make_token
from paystream.shared.errors import Unauthorized

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"


def test_token_round_trip_and_admin_role() -> None:
    p = decode_token(make_token("u1", SECRET), SECRET)
    assert (p.user_id, p.is_admin) == ("u1", False)
    assert decode_token(make_token("ops", SECRET, role="admin"), SECRET).is_admin


@pytest.mark.parametrize(
    "token",
    [
        make_token("u1", "another-secret-that-is-long-enough-for-hs256"),
        make_token("u1", SECRET, ttl_s=-10),
        jwt.encode({"iat": int(time.time())}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "u1"}, SECRET, algorithm="HS512"),
        "not-a-jwt",
    ],
    ids=["wrong-secret", "expired", "no-sub", "wrong-alg", "garbage"],
)
def test_bad_tokens_are_unauthorized(token: str) -> None:
    with pytest.raises(Unauthorized):
        decode_token(token, SECRET)


def test_none_algorithm_is_refused() -> None:
    token = jwt.encode({"sub": "u1"}, key=None, algorithm="none")
    with pytest.raises(Unauthorized):
        decode_token(token, SECRET)
