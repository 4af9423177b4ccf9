"""Low-balance thresholds, free of I/O: when a balance crosses below its threshold.

A user's available balance in a unit is *below* when it is under the threshold set for that
unit. `paystream.balance.low.v1` goes out when it becomes below, once: not again while it stays
below, and again only after it went back to the threshold or above (a grant) and then below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class ThresholdState:
    threshold: int
    below: bool


def is_below(available: int, threshold: int) -> bool:
    return available < threshold


def crossings(
    states: Mapping[K, ThresholdState], available: Mapping[K, int]
) -> tuple[dict[K, bool], list[K]]:
    """The `below` flags that change, and the keys whose balance crossed below (to announce)."""
    changed: dict[K, bool] = {}
    crossed: list[K] = []
    for key, state in states.items():
        if key not in available:
            continue
        below = is_below(available[key], state.threshold)
        if below != state.below:
            changed[key] = below
            if below:
                crossed.append(key)
    return changed, crossed
