"""What a BatchConsumer refuses to be built with, before it ever meets Kafka."""

from __future__ import annotations

import asyncpg
import pytest

from paystream.shared.kafka import (
    HANDOVER_WAIT_S,
    REQUEST_TIMEOUT_MS,
    BatchConsumer,
    create_broker,
)


def _consumer(**options: object) -> BatchConsumer:
    # A broker that is declared, never connected: building a consumer only declares it.
    broker = create_broker("127.0.0.1:1", "test")
    return BatchConsumer(
        broker=broker,
        service="test",
        topics=["t"],
        group_id="g",
        pool=_no_pool,
        handler=_never,
        **options,  # type: ignore[arg-type]
    )


async def _never(*_: object) -> None:
    raise AssertionError("not called")


def _no_pool() -> asyncpg.Pool:
    raise AssertionError("not called")


def test_the_default_hand_over_leaves_a_join_inside_the_request_timeout() -> None:
    assert HANDOVER_WAIT_S * 1000 * 2 < REQUEST_TIMEOUT_MS
    _consumer()


def test_a_hand_over_whose_rebalance_timeout_reaches_the_request_timeout_is_refused() -> None:
    # The broker holds a JoinGroup up to the rebalance timeout (twice the wait); aiokafka gives
    # up on it at the request timeout and the group rebalances again and again.
    with pytest.raises(ValueError, match="below the request timeout"):
        _consumer(handover_wait_s=REQUEST_TIMEOUT_MS / 2000)
    _consumer(handover_wait_s=REQUEST_TIMEOUT_MS / 2000 - 0.1)


def test_a_consumer_without_lanes_is_refused() -> None:
    with pytest.raises(ValueError, match="lanes must be at least 1"):
        _consumer(lanes=0)
