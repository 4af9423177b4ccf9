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


def test_a_token_checked_once_still_expires_and_a_bad_one_is_never_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = make_token("u1", SECRET, ttl_s=60)
    assert decode_token(token, SECRET).user_id == "u1"
    assert decode_token(token, SECRET).user_id == "u1"  # the second time from the cache
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthorized, match="expired"):
        decode_token(token, SECRET)
    # A refused token is refused every time, and a not-yet-valid one until its time.
    for _ in range(2):
        with pytest.raises(Unauthorized):
            decode_token(token, "another-secret-that-is-long-enough-for-hs256")
    early = jwt.encode(
        {"sub": "u2", "nbf": int(later) + 100, "exp": int(later) + 10_000},
        SECRET,
        algorithm="HS256",
    )
    with pytest.raises(Unauthorized, match="not yet valid"):
        decode_token(early, SECRET)
    monkeypatch.setattr(time, "time", lambda: later + 200)
    assert decode_token(early, SECRET).user_id == "u2"
    bad_exp = jwt.encode({"sub": "u3", "exp": "tomorrow"}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized):
        decode_token(bad_exp, SECRET)
