"""The grant path's events are serialized without their models (`events.granted_encoded`): the
bytes must be exactly those of the models (`events.granted(...)`), which consumers, the restore
from `ledger.events` and inboxes read. Its rows go in one statement (`insert_granted`), which
refuses, before any I/O, a transaction it would not write whole."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter

from paystream.ledger.books.domain import Tx
from paystream.ledger.journal import events
from paystream.ledger.lots.repository import NewLot, insert_granted
from paystream.shared import outbox
from paystream.shared.events import CreditsGrantedV1, Envelope

# What the grant path meets: the clock's UTC, pydantic's own UTC (a time parsed from an event),
# other zones, and times with and without a fraction.
PARSED = TypeAdapter(datetime).validate_python("2026-06-01T08:00:00.250000Z")
TIMES = [
    datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC),
    datetime(2026, 6, 1, 8, 0, 0, 7, tzinfo=UTC),
    PARSED,
    datetime(2026, 6, 1, 8, 0, 0, tzinfo=timezone(timedelta(hours=8))),
    datetime(2026, 6, 1, 8, 0, 0, tzinfo=timezone(timedelta(0))),
]


def _grant(
    at: datetime,
    *,
    expires: bool,
    order: str | None,
    reason: str,
    paid: int | None,
    cost_currency: str | None,
) -> tuple[Tx, NewLot]:
    lot = NewLot(
        id=uuid.uuid4(),
        user_id="user-é/1",
        unit="receives",
        source="plan_allowance" if reason == "rollover" else "purchase",
        credits=1500,
        effective_at=at,
        expires_at=at + timedelta(days=183, microseconds=5) if expires else None,
        validity_rule="P6M" if expires else "none",
        priority=7,
        cost_minor=0 if cost_currency is None else 1999,
        cost_currency=cost_currency,
        order_id=order,
        order_line=None if order is None else 2,
        transaction_id=uuid.uuid4(),
        created_at=at,
    )
    tx = Tx(
        id=lot.transaction_id,
        kind="grant",
        user_id=lot.user_id,
        unit=lot.unit,
        credits=lot.credits,
        balance_after=12_345,
        at=at,
        reason=reason,
        order_id=order,
        event_id=uuid.uuid4() if order else None,
        paid_minor=paid,
        paid_currency=None if paid is None else "CNY",
    )
    return tx, lot


@pytest.mark.parametrize("at", TIMES)
@pytest.mark.parametrize("expires", [True, False])
@pytest.mark.parametrize(
    ("order", "reason", "paid", "cost_currency", "payment"),
    [
        ("ord_1", "purchase", 1999, "CNY", "pi_1"),
        ("ord_1", "rollover", 0, None, None),
        (None, "plan_allowance", None, None, None),
    ],
)
def test_an_encoded_grant_is_byte_for_byte_the_models_event(
    at: datetime,
    expires: bool,
    order: str | None,
    reason: str,
    paid: int | None,
    cost_currency: str | None,
    payment: str | None,
) -> None:
    tx, lot = _grant(
        at, expires=expires, order=order, reason=reason, paid=paid, cost_currency=cost_currency
    )
    key, env = events.granted(tx, lot, provider_payment_id=payment)
    fast_key, fast = events.granted_encoded(tx, lot, provider_payment_id=payment)
    assert fast_key == key
    assert fast.to_bytes() == env.to_bytes()
    assert (fast.id, fast.type) == (env.id, env.type)
    # And it reads back as the event it claims to be.
    parsed = Envelope.from_bytes(fast.to_bytes())
    assert parsed.payload_as(CreditsGrantedV1) == env.payload_as(CreditsGrantedV1)


def test_the_outbox_rows_of_an_encoded_event_are_those_of_its_envelope() -> None:
    tx, lot = _grant(
        TIMES[0], expires=True, order="ord_1", reason="purchase", paid=1, cost_currency="CNY"
    )
    slow = outbox.prepare([events.granted(tx, lot)])
    fast = outbox.prepare([events.granted_encoded(tx, lot)])
    assert fast == slow


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "adjustment"},
        {"transaction_id": uuid.uuid4()},
        {"credits": 1},
        {"idempotency_key": "k"},
        {"actor": "ops@example.com"},
        {"cost_minor": 5},
        {"lots": ((uuid.uuid4(), 1500),)},
        {"at": TIMES[0] + timedelta(seconds=1)},
    ],
    ids=lambda change: next(iter(change)),
)
async def test_insert_granted_refuses_a_transaction_it_would_not_write_whole(
    change: dict[str, object],
) -> None:
    tx, lot = _grant(
        TIMES[0], expires=True, order="ord_1", reason="purchase", paid=1, cost_currency="CNY"
    )
    if "transaction_id" in change:
        lot = dataclasses.replace(lot, transaction_id=change["transaction_id"])  # type: ignore[arg-type]
    else:
        tx = dataclasses.replace(tx, **change)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="insert_granted writes"):
        # Refused before the connection is used: there is none.
        await insert_granted(None, [(lot, tx)])  # type: ignore[arg-type]
