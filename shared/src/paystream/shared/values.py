"""`@checked_frozen`: immutable for the type checker, a plain slotted dataclass at run time.

A frozen dataclass sets each field through `object.__setattr__` in its `__init__`: 1.8 us for a
class of 17 fields on this machine, against 0.23 us for the same class unfrozen. The ledger
builds several such records per grant (the order line, its lot, its transaction, the consumed
record and the encoded event), which made frozen `__init__`s about a tenth of the consumer's
CPU per grant. `@checked_frozen` keeps them immutable where that is checked, by `mypy --strict`
(to mypy a class it decorates is a frozen dataclass: PEP 681's `dataclass_transform` with
`frozen_default=True`), and leaves out the run-time guard. Equal records hash alike
(`unsafe_hash`), as frozen ones do.

Use it for records built on a hot path; `@dataclass(frozen=True, slots=True)` elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def checked_frozen(cls: type[T]) -> type[T]:
    return dataclass(slots=True, unsafe_hash=True)(cls)
