"""`@checked_frozen`: immutable to mypy, a plain slotted dataclass at run time."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mypy import api

from paystream.shared.values import checked_frozen


@checked_frozen
class _Point:
    x: int
    y: int = 0


def test_a_record_compares_and_hashes_by_its_fields_and_has_slots() -> None:
    assert _Point(1, 2) == _Point(1, 2)
    assert _Point(1) != _Point(1, 1)
    assert {_Point(1, 2): "a"}[_Point(1, 2)] == "a"
    assert not hasattr(_Point(1), "__dict__")


def test_mypy_refuses_to_assign_a_field(tmp_path: Path) -> None:
    source = tmp_path / "uses_record.py"
    source.write_text(
        textwrap.dedent(
            """
            from paystream.shared.values import checked_frozen

            @checked_frozen
            class Point:
                x: int

            p = Point(1)
            p.x = 2
            """
        )
    )
    out, _, status = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / ".mypy"), str(source)]
    )
    assert status == 1
    assert 'Property "x" defined in "Point" is read-only' in out
