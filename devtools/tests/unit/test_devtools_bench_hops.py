"""The end-to-end benchmark's latency by hop: which timestamps each hop spans."""

from __future__ import annotations

from paystream.devtools.bench.__main__ import _hop_text, _hops
from paystream.devtools.bench.grants import Hops


def test_each_hop_spans_two_steps_and_payments_missing_a_step_are_left_out() -> None:
    sent = {"o1": 100.0, "o2": 200.0, "lost": 300.0}
    hops = Hops(
        payment={"o1": 100.001, "o2": 200.002, "lost": 300.001},
        paid_made={"o1": 100.021, "o2": 200.032},
        paid={"o1": 100.025, "o2": 200.036},
        granted={"o1": 100.045, "o2": 200.046},
    )
    got = _hops(sent, hops)
    # p50 and p99 of two values: the lower and the higher one.
    assert got == {
        "hop_ingest_ms": {"p50": 1.0, "p99": 2.0},
        "hop_checkout_ms": {"p50": 20.0, "p99": 30.0},
        "hop_checkout_relay_ms": {"p50": 4.0, "p99": 4.0},
        "hop_ledger_ms": {"p50": 10.0, "p99": 20.0},
    }
    assert _hop_text({"p50_ms": 40.0, **got}) == (
        "ingest 1.0 / 2.0 ms, checkout 20.0 / 30.0 ms, checkout_relay 4.0 / 4.0 ms, "
        "ledger 10.0 / 20.0 ms"
    )


def test_a_run_without_hops_says_so() -> None:
    assert _hop_text({"p50_ms": 40.0}) == "not measured"
