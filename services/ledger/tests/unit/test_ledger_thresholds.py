"""Balance-low crossings: announced once when a balance goes below its threshold, again only
after it went back up."""

from __future__ import annotations

from paystream.ledger.thresholds.domain import ThresholdState, crossings, is_below


def test_below_means_strictly_under_the_threshold() -> None:
    assert is_below(99, 100)
    assert not is_below(100, 100)
    assert not is_below(0, 0)


def test_a_crossing_below_is_announced_once_and_rearmed_by_going_back_up() -> None:
    key = ("alice", "credits")
    state = ThresholdState(threshold=100, below=False)
    changed, crossed = crossings({key: state}, {key: 150})
    assert (changed, crossed) == ({}, [])
    changed, crossed = crossings({key: state}, {key: 99})
    assert (changed, crossed) == ({key: True}, [key])
    # Still below: nothing changes, nothing is announced again.
    state = ThresholdState(100, below=True)
    assert crossings({key: state}, {key: 10}) == ({}, [])
    # Back to the threshold: re-armed, not announced.
    assert crossings({key: state}, {key: 100}) == ({key: False}, [])


def test_only_balances_that_changed_are_looked_at() -> None:
    a, b = ("alice", "credits"), ("bob", "receives")
    states = {a: ThresholdState(10, False), b: ThresholdState(10, False)}
    assert crossings(states, {a: 5}) == ({a: True}, [a])
    assert crossings(states, {}) == ({}, [])
