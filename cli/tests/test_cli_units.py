"""Pure parts of the operator command: times, offsets, the DLQ handled-set, normalizer results,
the operator credential."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition

from paystream.cli.auth import require_operator
from paystream.cli.dlq import Handled
from paystream.cli.errors import BadInput, Refused
from paystream.cli.replay import OffsetSpec, parse_offsets
from paystream.cli.settings import OperatorSettings
from paystream.cli.timeparse import parse_time
from paystream.notifications.registry import BY_NAME
from paystream.notifications.registry import reprocess as reprocess_raw
from paystream.shared.auth import make_token
from paystream.shared.events import Envelope, PaymentFailedV1, WebhookReceivedV1

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SECRET = "a-test-secret-of-at-least-32-bytes-long"


def test_cli_relative_and_iso_times() -> None:
    assert parse_time("2h", now=NOW) == NOW - timedelta(hours=2)
    assert parse_time("90s", now=NOW) == NOW - timedelta(seconds=90)
    assert parse_time("3d", now=NOW) == NOW - timedelta(days=3)
    assert parse_time("2026-05-01T10:00:00Z") == datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert parse_time("2026-05-01T12:00:00+02:00") == datetime(2026, 5, 1, 10, tzinfo=UTC)
    # No zone means UTC, never the machine's local time.
    assert parse_time("2026-05-01") == datetime(2026, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["yesterday", "2x", "-2h", ""])
def test_cli_bad_time_is_refused(bad: str) -> None:
    with pytest.raises(BadInput):
        parse_time(bad)


def test_cli_offset_specs() -> None:
    assert parse_offsets(["0:5", "12", "3:0"], "--from-offset") == [
        OffsetSpec(0, 5),
        OffsetSpec(None, 12),
        OffsetSpec(3, 0),
    ]
    for bad in ("a:1", "1:b", "-1", "1:-2"):
        with pytest.raises(BadInput):
            parse_offsets([bad], "--from-offset")


def test_cli_dlq_handled_offsets_advance_over_contiguous_retries() -> None:
    tp = TopicPartition("t.dlq", 0)
    h = Handled({tp: SimpleNamespace(offset=2, metadata="")})
    assert h.is_handled(tp, 1)
    assert not h.is_handled(tp, 2)
    h.mark(tp, 4)  # not the oldest pending: remembered in metadata
    assert h.commits([tp]) == {tp: (2, '{"retried": [4]}')}
    assert h.is_handled(tp, 4)
    assert not h.is_handled(tp, 3)
    h.mark(tp, 2)
    h.mark(tp, 3)
    assert h.commits([tp]) == {tp: (5, "")}
    # Metadata written by the command is read back.
    again = Handled({tp: SimpleNamespace(offset=5, metadata='{"retried": [7]}')})
    assert again.is_handled(tp, 7)
    assert not again.is_handled(tp, 6)


def _failed_envelope() -> Envelope:
    return Envelope.wrap(
        PaymentFailedV1(
            order_id="o1",
            user_id="u1",
            provider="stripe",
            provider_event_id="evt_1",
            reason="declined",
            failed_at=NOW,
        ),
        source="test",
        id=uuid.uuid4(),
    )


def test_cli_reprocesses_every_notifying_provider_and_not_usdt() -> None:
    assert set(BY_NAME) == {"stripe", "alipay", "wechatpay"}
    raw = WebhookReceivedV1(
        provider="usdt_trc20",
        provider_event_id="tx",
        provider_event_type="trc20",
        content_type="application/json",
        body="{}",
        received_at=NOW,
    )
    assert reprocess_raw(raw) is None


def test_cli_operator_credential() -> None:
    s = OperatorSettings(jwt_secret=SECRET, operator_token=None)
    assert require_operator(s, action="replay", local_operator=True, token=None) == "local-operator"
    with pytest.raises(Refused, match="needs an operator credential"):
        require_operator(s, action="replay", local_operator=False, token=None)
    admin = make_token("ops", SECRET, role="admin")
    assert require_operator(s, action="replay", local_operator=False, token=admin) == "ops"
    with pytest.raises(Refused, match="no admin role"):
        require_operator(s, action="replay", local_operator=False, token=make_token("bob", SECRET))
    with pytest.raises(Refused, match="invalid token"):
        require_operator(
            s,
            action="replay",
            local_operator=False,
            token=make_token("ops", "another-secret-of-at-least-32-bytes!!", role="admin"),
        )
    with pytest.raises(Refused, match="expired"):
        require_operator(
            s,
            action="replay",
            local_operator=False,
            token=make_token("ops", SECRET, role="admin", ttl_s=-10),
        )
    from_env = OperatorSettings(jwt_secret=SECRET, operator_token=admin)
    assert require_operator(from_env, action="dlq retry", local_operator=False, token=None) == "ops"


def test_cli_operator_token_comes_from_a_file_not_the_command_line(tmp_path: Path) -> None:
    from paystream.cli.auth import read_token_file

    token_file = tmp_path / "token"
    token_file.write_text(make_token("ops", SECRET, role="admin") + "\n")
    s = OperatorSettings(jwt_secret=SECRET, operator_token=None)
    token = read_token_file(token_file)
    assert require_operator(s, action="replay", local_operator=False, token=token) == "ops"
    with pytest.raises(Refused, match="cannot read the operator token file"):
        read_token_file(tmp_path / "missing")
    assert read_token_file(None) is None
    # No option takes the token itself: it would be readable by anyone in `ps`.
    from typer.testing import CliRunner

    from paystream.cli.main import app

    help_text = CliRunner().invoke(app, ["replay", "--help"]).output
    assert "--operator-token-file" in help_text
    assert "--operator-token " not in help_text
